"""Is the operator alive? Asked of the cluster, never guessed from what it last wrote.

`operator_alive` runs probes in order and the first that can tell wins. First the leader Lease
(every replica, in the cluster or `make run`, competes for it and the leader renews it): renewed
within its duration is alive, stale or released is down. A missing Lease (never taken, or an
operator run with --no-leader-election) asks the next probe: the operator's Deployment in its
namespace, and its pods' `/readyz` through the API server's pod proxy (falling back to the pod's
Ready condition, which the same endpoint drives, when the proxy is not allowed). If nothing else
can tell, a missing Lease means down: leader election is the default everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from ironflow.cli.lease_liveness import operator_liveness
from ironflow.core.lease import DEFAULT_LEASE_NAME
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_operator import deployment_pods, pod_readyz

DEPLOYMENT: Final = "ironflow-operator"  # the chart's and manifests/' name and pod label
HEALTH_PORT_NAME: Final = "health"
DEFAULT_HEALTH_PORT: Final = 8081

State = Literal["alive", "down", "unknown"]


@dataclass(frozen=True)
class Liveness:
    state: State
    detail: str
    source: str  # which probe decided: "readiness endpoint", "pod Ready condition", "none"


Probe = Callable[[SyncClient, str], Liveness | None]


def operator_alive(client: SyncClient, operator_namespace: str,
                   lease_name: str = DEFAULT_LEASE_NAME) -> Liveness:
    lease = operator_liveness(client, operator_namespace, lease_name)
    if lease.state == "alive":
        return Liveness("alive", lease.describe(), "leader Lease")
    if lease.state in ("stale", "released"):
        return Liveness("down", lease.describe(), "leader Lease")
    for probe in PROBES:
        found = probe(client, operator_namespace)
        if found is not None:
            return found
    if lease.state == "missing":
        return Liveness("down", lease.describe(), "leader Lease")
    return Liveness(
        "unknown",
        f"no {DEPLOYMENT} Deployment in {operator_namespace}: if the operator runs outside the cluster "
        "(make run), its liveness cannot be determined from here (--operator-namespace if it is elsewhere)",
        "none",
    )


def _deployment_probe(client: SyncClient, namespace: str) -> Liveness | None:
    try:
        pods = deployment_pods(client, namespace, DEPLOYMENT)
    except Forbidden:
        return Liveness("unknown", f"not allowed to read the operator's Deployment or pods in {namespace}",
                        "none")
    if pods is None:
        return None
    if not pods:
        return Liveness("down", f"Deployment {namespace}/{DEPLOYMENT} has no pods", "pod Ready condition")
    verdicts = [_pod(client, namespace, pod) for pod in pods]
    alive = [v for v in verdicts if v.state == "alive"]
    return alive[0] if alive else verdicts[0]


def _pod(client: SyncClient, namespace: str, pod: dict[str, Any]) -> Liveness:
    name = str(pod["metadata"]["name"])
    status = pod.get("status") or {}
    where = f"pod {namespace}/{name}"
    if status.get("phase") != "Running" or not status.get("podIP"):
        return Liveness("down", f"{where} is {status.get('phase') or 'not running'}", "pod Ready condition")
    answer = pod_readyz(client, namespace, name, _health_port(pod))
    if answer.status == 200:
        return Liveness("alive", f"{where}: /readyz answered ready", "readiness endpoint")
    if answer.status and not answer.by_api_server:  # the operator itself answered: not ready, and why
        text = "; ".join(answer.body.decode("utf-8", "replace").strip().splitlines())[:400]
        return Liveness("down", f"{where}: /readyz answered {answer.status}: {text}", "readiness endpoint")
    ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    if ready.get("status") == "True":
        return Liveness("alive", f"{where} is Ready (its readiness probe is /readyz)", "pod Ready condition")
    why = ready.get("message") or ready.get("reason") or "no reason given"
    return Liveness("down", f"{where} is not Ready: {why}", "pod Ready condition")


def _health_port(pod: dict[str, Any]) -> int:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == HEALTH_PORT_NAME and port.get("containerPort"):
                return int(port["containerPort"])
    return DEFAULT_HEALTH_PORT


PROBES: list[Probe] = [_deployment_probe]
