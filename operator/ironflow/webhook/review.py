"""An AdmissionReview body checked before anything in it is used: names, shapes and sizes.

The API server only ever sends well-formed reviews, but the webhook must not depend on who calls
it: the namespace becomes an API path and a cache key, the pod name a log field, the containers
and annotations the input of the pure core. So every field the webhook reads is checked here,
once, and a review that fails is refused as a whole (a 400 denial) before any API call is made,
anything is cached or any of its text is logged. Refusing is the safe choice: the API server
never sends such a review, and a pod that declares names fails closed anyway.

Names follow the API server's own rules: namespaces and container names are RFC 1123 DNS labels,
a pod name is a DNS subdomain (generateName its prefix). Shapes follow what the core reads (lists
of objects, string names); unknown fields are ignored, since the core never reads them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ironflow.core.names import is_valid_namespace

API_VERSION: Final = "admission.k8s.io/v1"
MAX_UID_LENGTH: Final = 128
MAX_POD_NAME_LENGTH: Final = 253
MAX_IRONFLOW_ANNOTATION_BYTES: Final = 64 * 1024  # a declaration of hundreds of 253-character names
MAX_SUB_RESOURCE_LENGTH: Final = 64
IRONFLOW_PREFIX: Final = "ironflow.io/"
_REVIEW_TYPE: Final = (API_VERSION, "AdmissionReview")

_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_GENERATE_NAME: Final = re.compile(r"[a-z0-9][-a-z0-9.]*")
_UID: Final = re.compile(r"[A-Za-z0-9][-A-Za-z0-9._:]*")

# What the core reads of a pod: each key maps to the shape of its value. `str`/`bool`: that type;
# a dict: an object whose listed keys have those shapes; a one-element list: a list of that shape.
# null counts as absent everywhere (the core reads `x.get(k) or default`).
_KEY_REF: Final = {"name": str, "key": str, "optional": bool}
_ITEMS: Final = [{"key": str, "path": str}]
_CONTAINER: Final = {
    "name": str,
    "env": [{"name": str, "valueFrom": {"secretKeyRef": _KEY_REF, "configMapKeyRef": _KEY_REF}}],
    "envFrom": [{"secretRef": {"name": str}, "configMapRef": {"name": str}}],
    "volumeMounts": [{"name": str, "mountPath": str}],
}
_SOURCE: Final = {"name": str, "items": _ITEMS, "optional": bool}
_POD: Final = {
    "metadata": {"name": str, "generateName": str, "namespace": str, "annotations": {}},
    "spec": {
        "containers": [_CONTAINER],
        "initContainers": [_CONTAINER],
        "ephemeralContainers": [_CONTAINER],
        "volumes": [
            {
                "name": str,
                "secret": {"secretName": str, "items": _ITEMS},
                "projected": {"sources": [{"secret": _SOURCE, "configMap": _SOURCE}]},
            }
        ],
    },
}
_CONTAINER_LISTS: Final = ("containers", "initContainers", "ephemeralContainers")


class BadReview(ValueError):
    """Not a review the webhook can act on; the message names the field, never its content."""


@dataclass(frozen=True)
class Review:
    uid: str
    namespace: str
    pod: Mapping[str, Any]
    sub_resource: str

    @property
    def pod_label(self) -> str:
        """namespace/name (or namespace/generateName*) for messages and logs: validated text only."""
        meta = self.pod.get("metadata") or {}
        return f"{self.namespace}/{meta.get('name') or (meta.get('generateName') or '') + '*'}"

    @property
    def annotations(self) -> Mapping[str, str] | None:
        annotations = (self.pod.get("metadata") or {}).get("annotations")
        return annotations if isinstance(annotations, Mapping) else None


def review_uid(body: object) -> str:
    """The request's uid when it is a well-formed one, else "" (for the answer to a bad review)."""
    request = body.get("request") if isinstance(body, Mapping) else None
    uid = request.get("uid") if isinstance(request, Mapping) else None
    return uid if isinstance(uid, str) and _valid_uid(uid) else ""


def parse_review(body: object) -> Review:
    """The checked review, or BadReview saying which field is wrong."""
    if not isinstance(body, Mapping) or (body.get("apiVersion"), body.get("kind")) != _REVIEW_TYPE:
        raise BadReview(f"not an AdmissionReview {API_VERSION}")
    request = body.get("request")
    if not isinstance(request, Mapping):
        raise BadReview("the review has no request")
    uid = request.get("uid")
    if not _valid_uid(uid):
        raise BadReview("request.uid is not a valid uid")
    pod = request.get("object")
    if not isinstance(pod, Mapping):
        raise BadReview("request.object is not a pod")
    where = _shape_error(pod, _POD, "request.object")
    if where is not None:
        raise BadReview(f"{where} has the wrong type")
    namespace = request.get("namespace")
    if not is_valid_namespace(namespace):
        raise BadReview("request.namespace is not a valid namespace name (RFC 1123 label)")
    assert isinstance(namespace, str)
    meta = pod.get("metadata") or {}
    if meta.get("namespace") not in (None, "", namespace):
        raise BadReview("the pod's metadata.namespace differs from request.namespace")
    _check_pod_names(meta, pod.get("spec") or {})
    sub = request.get("subResource") or ""
    if not isinstance(sub, str) or len(sub) > MAX_SUB_RESOURCE_LENGTH or (sub and not _LABEL.fullmatch(sub)):
        raise BadReview("request.subResource is not a valid subresource name")
    assert isinstance(uid, str)
    return Review(uid=uid, namespace=namespace, pod=pod, sub_resource=sub)


def _valid_uid(uid: object) -> bool:
    return isinstance(uid, str) and 0 < len(uid) <= MAX_UID_LENGTH and _UID.fullmatch(uid) is not None


def _check_pod_names(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    name, generate = meta.get("name") or "", meta.get("generateName") or ""
    if name and (len(name) > MAX_POD_NAME_LENGTH or not _SUBDOMAIN.fullmatch(name)):
        raise BadReview("metadata.name is not a valid pod name (RFC 1123 subdomain)")
    if generate and (len(generate) > MAX_POD_NAME_LENGTH or not _GENERATE_NAME.fullmatch(generate)):
        raise BadReview("metadata.generateName is not a valid pod name prefix")
    annotations = meta.get("annotations") or {}
    for key, value in annotations.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BadReview("metadata.annotations must map strings to strings")
        if key.startswith(IRONFLOW_PREFIX) and len(value.encode()) > MAX_IRONFLOW_ANNOTATION_BYTES:
            raise BadReview(f"annotation {key} is longer than {MAX_IRONFLOW_ANNOTATION_BYTES} bytes")
    for key in _CONTAINER_LISTS:
        for container in spec.get(key) or []:
            cname = container.get("name")
            if not isinstance(cname, str) or not _LABEL.fullmatch(cname) or len(cname) > 63:
                raise BadReview(f"spec.{key}[].name is not a valid container name (RFC 1123 label)")


def _shape_error(value: object, shape: object, where: str) -> str | None:
    """The path of the first value that does not have its shape, None when all do."""
    if value is None:
        return None
    if shape is str or shape is bool:
        return None if type(value) is shape else where
    if isinstance(shape, list):
        if not isinstance(value, list):
            return where
        for i, item in enumerate(value):
            if item is None:
                return f"{where}[{i}]"
            found = _shape_error(item, shape[0], f"{where}[{i}]")
            if found is not None:
                return found
        return None
    assert isinstance(shape, dict)
    if not isinstance(value, Mapping):
        return where
    for key, inner in shape.items():
        found = _shape_error(value.get(key), inner, f"{where}.{key}")
        if found is not None:
            return found
    return None
