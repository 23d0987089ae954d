"""Which environments an operator serves, as the CLI can tell, and "did you mean" for the misspelt.

The operator publishes `ironflow-sealing-key` in every namespace it serves (whatever its mode:
keyed, dev, no-key, invalid-key) and removes it from a namespace it no longer serves. So a
namespace without it is not served: a config written there stays NotObserved and reaches no pod,
which `config set` used to accept with exit code 0. A misspelt environment or name gets the
closest existing ones (difflib), because "not set" alone sends people looking for a missing value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ironflow.cli.errors import UserError
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL
from ironflow.core.sealing_key import SEALING_KEY_CONFIGMAP
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_resources import IronflowApi, mapping

ALLOW_FLAG = "--allow-unserved"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """"; did you mean A or B?" (up to three, closest first), or "" when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(candidates) - {word}), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def namespace_names(api: IronflowApi) -> list[str]:
    """Every namespace, or none when the user may not list them (a namespaced role is normal)."""
    try:
        found = api.list_namespaces()
    except Forbidden:
        return []
    return [str(mapping(item.get("metadata")).get("name")) for item in found]


def served_namespaces(api: IronflowApi) -> list[str]:
    """The namespaces holding the operator's sealing-key ConfigMap (empty if not allowed to list)."""
    try:
        found = api.list_configmaps_named(SEALING_KEY_CONFIGMAP)
    except Forbidden:
        return []
    return sorted(
        str(mapping(cm.get("metadata")).get("namespace")) for cm in found
        if mapping(mapping(cm.get("metadata")).get("labels")).get(MANAGED_BY_LABEL) == MANAGED_BY
    )


def unserved_hint(api: IronflowApi, namespace: str) -> str:
    return did_you_mean(namespace, served_namespaces(api))


def require_served(api: IronflowApi, namespace: str, what: str) -> None:
    """Refuse to write `what` into an environment no operator serves (exit code 1, with the fix).

    A user who may not read ConfigMaps there cannot tell; then nothing is refused."""
    try:
        if api.get_configmap(namespace, SEALING_KEY_CONFIGMAP) is not None:
            return
    except Forbidden:
        return
    raise UserError(
        f"environment {namespace} is not served by the Ironflow operator (it has no ConfigMap "
        f"{SEALING_KEY_CONFIGMAP}): {what} written there would reach no pod. Add {namespace} to the "
        f"operator's namespaces (chart value `namespaces`, operator flag --namespace), or pass "
        f"{ALLOW_FLAG} to write it anyway{unserved_hint(api, namespace)}"
    )
