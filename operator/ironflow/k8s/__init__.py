"""The HTTP clients to the API server and the typed calls most callers use.

Only this package (and the test control plane) opens connections or imports a Kubernetes client
library (import-linter enforces it), so cluster selection (the safety rule), error typing and the
"no value in an error message" rule are implemented once, for the operator, webhook and CLI.
Callers above it still choose some requests themselves, with paths built by `paths.py`.
"""
