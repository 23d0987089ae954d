"""The `ironflow` command: seal locally, write only sealed strings, never print a value.

It is glue over `ironflow.core` (sealing, names, projection rules) and `ironflow.k8s.sync_*`
(the only place the CLI touches the API), so the CLI and the operator can never disagree on a rule.
"""
