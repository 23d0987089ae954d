"""The pod webhook: gives each declaring pod exactly the names it declares, fails closed.

Decisions live in `ironflow.core` (declarations, injection, enforcement); this package serves
them over TLS, manages its certificates and renders its own registration, so the chart and the
operator register the same thing.
"""
