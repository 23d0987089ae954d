"""The pod webhook: gives each declaring pod exactly the names it declares, fails closed.

Decisions live in `ironflow.core` (declarations, injection, enforcement); this package serves
them over TLS, manages its certificates, renders its own registration (so the chart and the
operator register the same thing), and starts and stops itself. It reads environments only
through what the operator hands it at start-up (host.py, reader.py), never by importing it.
"""
