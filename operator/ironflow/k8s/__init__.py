"""The only modules that talk to the API server (import-linter enforces it).

Keeping every request here means cluster selection (the safety rule), error typing and the
"no value in an error message" rule are implemented once, for the operator, webhook and CLI.
"""
