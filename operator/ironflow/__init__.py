"""Ironflow: sealed secrets and config for Kubernetes, projected only where declared.

The release version is written once, in pyproject.toml's [project] version; everything else (the
User-Agent, `ironflow --version`, the build-info metric, the chart and manifests/ through
`make manifests`, the image tag through the Makefile) reads it from there or from the installed
package's metadata, and tests/unit/test_version.py fails if any copy differs.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("ironflow-operator")
except _metadata.PackageNotFoundError:  # pragma: no cover - imported from a tree never installed
    __version__ = "0+unknown"
