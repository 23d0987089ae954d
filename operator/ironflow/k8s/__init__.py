"""The HTTP clients to the API server and the typed calls most callers use.

Only this package (and the test control plane) opens connections, imports an HTTP or Kubernetes
client library or spells an API path (import-linter and tests/unit/test_api_boundary.py enforce
it), so cluster selection (the safety rule), path escaping, error typing and the "no value in an
error message" rule are implemented once, for the operator, webhook and CLI. The CLI asks the
sync_* modules for what it wants by name; the operator's modules still send some requests
through `async_client.Kube` with paths from `paths.py`.
"""
