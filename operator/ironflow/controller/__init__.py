"""The operator: kopf watches, an in-memory work queue and reconcilers that write only differences.

kopf supplies watching, login and lifecycle; everything it would persist on objects (progress,
diff-bases, log-Events) is switched off or kept in memory, so API writes are exactly what a
result needs. Decisions are made by `ironflow.core`; API calls go through `ironflow.k8s`.
"""
