"""API calls the pod webhook makes: read an environment's resources, register the configuration.

The webhook sits on the pod-creation path of every declaring pod, so its reads are bounded by a
short deadline (the API server gives the whole call only a few seconds) and fail closed: the
caller turns any error into a refusal naming the environment, never into a pod without values.
Only names and status facts are used from the listed resources; sealed values are dropped here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ironflow.core.model import CONFIG_KIND, GROUP, SECRET_KIND, Kind, spec_names
from ironflow.core.owners import controller_reference
from ironflow.core.reseal import is_reseal_only
from ironflow.k8s.async_client import ApiError, Kube
from ironflow.k8s.paths import core_path, group_path

GROUP_VERSION: Final = "ironflow.io/v1alpha1"
READ_DEADLINE_SECONDS: Final = 3.0
WEBHOOK_CONFIGURATIONS: Final = "admissionregistration.k8s.io/v1"
_KINDS: Final[Mapping[str, Kind]] = {"sealed": SECRET_KIND, "values": CONFIG_KIND}  # by NAME-map field


async def list_environment(
    kube: Kube, namespace: str, deadline: float = READ_DEADLINE_SECONDS
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(IronflowSecrets, IronflowConfigs) of one namespace, stripped to names, times and status."""
    secrets, configs = await asyncio.wait_for(
        asyncio.gather(
            kube.request("GET", group_path(GROUP_VERSION, "ironflowsecrets", namespace)),
            kube.request("GET", group_path(GROUP_VERSION, "ironflowconfigs", namespace)),
        ),
        timeout=deadline,
    )
    return stripped(secrets.get("items") or [], "sealed"), stripped(configs.get("items") or [], "values")


def stripped(items: Iterable[Mapping[str, Any]], field: str) -> list[dict[str, Any]]:
    """Keep what ownership and versions need; sealed strings and config values go no further."""
    out: list[dict[str, Any]] = []
    for item in items:
        if is_reseal_only(_mapping(item)):  # a temporary resource of `secret reseal -f`: no claims
            continue
        # A CRD without schema lets any JSON through: what is not an object counts as empty, and the
        # spec is read through the one spec reader (an InvalidSpec defines no names).
        meta, status = (_mapping(_mapping(item).get(part)) for part in ("metadata", "status"))
        out.append(
            {
                # generation and observedGeneration: whether the status describes the current spec
                "metadata": {k: meta.get(k) for k in ("name", "namespace", "uid", "creationTimestamp",
                                                      "generation")},
                "spec": {field: dict.fromkeys(spec_names(_KINDS[field], item), "")},
                "status": {"names": _mapping(status.get("names")),
                           "observedGeneration": status.get("observedGeneration")},
            }
        )
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    # a plain dict first: the ABC check alone was a third of a 2,000-resource view rebuild
    return value if type(value) is dict or isinstance(value, Mapping) else {}


METADATA_ONLY: Final = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
PROJECTED: Final = {"secret": "secrets", "config": "configmaps"}
_OWNER_KINDS: Final[Mapping[str, Kind]] = {"secret": SECRET_KIND, "config": CONFIG_KIND}
_OBJECT_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


async def foreign_projections(
    kube: Kube,
    namespace: str,
    resources: Mapping[str, list[dict[str, Any]]],
    deadline: float = READ_DEADLINE_SECONDS,
) -> set[tuple[str, str]]:
    """(kind, resource) pairs whose same-named Secret/ConfigMap exists but is not this resource's.

    The operator never overwrites an object it does not own, so such a resource projects
    nothing; a pod pointed at that name would read someone else's object. Only metadata is
    fetched (PartialObjectMetadata), so no Secret data enters the webhook for this check.
    """
    checks = [
        (kind, item) for kind, items in resources.items() for item in items
        if (item.get("metadata") or {}).get("name")
    ]

    async def foreign(kind: str, item: Mapping[str, Any]) -> bool:
        meta = item.get("metadata") or {}
        found = await kube.get(core_path(PROJECTED[kind], namespace, str(meta["name"])), accept=METADATA_ONLY)
        if found is None:
            return False  # not projected yet: the operator will create it, owned
        # the operator's own test of ownership (controller/projected.py): what it would not write into
        controller = controller_reference(found.get("metadata"), _OWNER_KINDS[kind], GROUP)
        return controller is None or controller.get("uid") != meta.get("uid")

    results = await asyncio.wait_for(
        asyncio.gather(*(foreign(kind, item) for kind, item in checks)), timeout=deadline
    )
    return {(kind, str(item["metadata"]["name"])) for (kind, item), bad in zip(checks, results, strict=True)
            if bad}


async def missing_secrets(
    kube: Kube, namespace: str, names: Iterable[str], deadline: float = READ_DEADLINE_SECONDS
) -> set[str]:
    """Which of these Secrets do not exist (enforcement): metadata only, so no data is read.

    Names come from a pod not validated yet; one that cannot name a Secret is never put into a
    path and counts as missing (the pod is refused, as the API server would refuse it anyway)."""
    wanted = sorted(set(names))

    async def absent(name: str) -> bool:
        if len(name) > 253 or not _OBJECT_NAME.match(name):
            return True
        return await kube.get(core_path("secrets", namespace, name), accept=METADATA_ONLY) is None

    results = await asyncio.wait_for(asyncio.gather(*(absent(n) for n in wanted)), timeout=deadline)
    return {name for name, gone in zip(wanted, results, strict=True) if gone}


async def apply_webhook_configuration(kube: Kube, body: Mapping[str, Any]) -> None:
    """Create or replace the MutatingWebhookConfiguration the operator renders (dev and tests)."""
    name = str(body["metadata"]["name"])
    path = group_path(WEBHOOK_CONFIGURATIONS, "mutatingwebhookconfigurations")
    item = group_path(WEBHOOK_CONFIGURATIONS, "mutatingwebhookconfigurations", name=name)
    existing = await kube.get(item)
    if existing is None:
        try:
            await kube.create(path, body)
            return
        except ApiError as exc:
            if exc.status != 409:
                raise
            existing = await kube.get(item)
    wanted = {k: body[k] for k in ("metadata", "webhooks") if k in body}
    if existing is not None and _contains(existing, wanted):
        return  # already registered as rendered: a new leader re-registering costs no write
    replacement = {
        **body,
        "metadata": {
            **body["metadata"],
            "resourceVersion": (existing or {}).get("metadata", {}).get("resourceVersion"),
        },
    }
    await kube.request("PUT", item, body=replacement)


def _contains(actual: Any, wanted: Any) -> bool:
    """Whether `actual` holds everything `wanted` says (the server adds defaults, never removes)."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(_contains(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(actual, list) and len(actual) == len(wanted) and all(
            _contains(a, w) for a, w in zip(actual, wanted, strict=True))
    return bool(actual == wanted)
