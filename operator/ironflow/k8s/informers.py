"""Informers named by what they watch: modules outside k8s/ never hand the informer a path.

Each returns an `Informer` (k8s/informer.py) over one resource, with the selectors its consumer
needs; the consumer iterates it and reads `Event`/`Synced` changes.
"""

from __future__ import annotations

import logging

from ironflow.k8s.async_client import Kube
from ironflow.k8s.informer import PAGE, Informer
from ironflow.k8s.paths import core_path


def namespaces(kube: Kube, *, logger: logging.Logger) -> Informer:
    return Informer(kube, core_path("namespaces"), what="watching namespaces", logger=logger)


def secret_named(kube: Kube, namespace: str, name: str, *, what: str, logger: logging.Logger) -> Informer:
    """One Secret, by a field selector on its name: a list that finds none means it does not exist."""
    return Informer(kube, core_path("secrets", namespace), field_selector=f"metadata.name={name}",
                    what=what, logger=logger)


def labelled(kube: Kube, plural: str, namespace: str | None, *, label_selector: str, limit: int = PAGE,
             logger: logging.Logger) -> Informer:
    """The labelled objects of a core resource (`secrets`, `configmaps`) in one namespace, or all."""
    path = core_path(plural, namespace)
    return Informer(kube, path, label_selector=label_selector, limit=limit, what=f"watching {path}",
                    logger=logger)
