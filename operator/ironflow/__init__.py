"""Ironflow: sealed secrets and config for Kubernetes, projected only where declared."""

__version__ = "0.1.0"
