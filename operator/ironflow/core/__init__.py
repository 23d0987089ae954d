"""The pure core: no kopf, no Kubernetes client, no I/O, so it is tested in milliseconds."""
