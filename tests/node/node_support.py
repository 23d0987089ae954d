"""Pods that print what their process received, and reading that back from the kubelet.

A test pod runs busybox from the node's own image (never pulled), prints its environment and
every projected file, and exits; the test waits for `Succeeded` (never sleeps) and reads the
output with `kubectl logs`, which goes API server -> kubelet, as a user's would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.nodeconfig import BUSYBOX_IMAGE

ROOT = "/var/run/ironflow"
END = "=== end"
# env, the mount points under /var/run ("MOUNT <point>"), then every projected file as
# "=== <path>" followed by its exact bytes, then END.
REPORT = (
    'env; awk \'$2 ~ "^/var/run/" {print "MOUNT " $2}\' /proc/self/mounts; '
    "for f in " + ROOT + "/secrets/* " + ROOT + "/configs/*; do "
    '[ -e "$f" ] || continue; printf "=== %s\\n" "$f"; cat "$f"; printf "\\n"; done; echo "' + END + '"'
)


def container(command: str = REPORT, name: str = "app") -> dict[str, Any]:
    return {
        "name": name,
        "image": BUSYBOX_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", command],
    }


def pod_spec(command: str = REPORT, restart: str = "Never") -> dict[str, Any]:
    return {
        "containers": [container(command)],
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": 0,  # busybox sh ignores SIGTERM: never wait for it
        "automountServiceAccountToken": False,
    }


def pod(name: str, annotations: dict[str, str], command: str = REPORT) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": pod_spec(command),
    }


@dataclass(frozen=True)
class Report:
    """What one container printed: its environment and the projected files it found."""

    env: dict[str, str]
    files: dict[str, str]
    raw: str
    mounts: tuple[str, ...] = ()

    def ironflow_env(self, names: set[str]) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k in names}


def parse(text: str) -> Report:
    assert END in text, f"the container did not finish its report:\n{text}"
    env: dict[str, str] = {}
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    mounts: list[str] = []
    for line in text[: text.index(END)].removesuffix("\n").split("\n"):
        if line.startswith("MOUNT ") and current is None:
            mounts.append(line.removeprefix("MOUNT "))
        elif line.startswith("=== "):
            current = files.setdefault(line[4:].removeprefix(ROOT + "/"), [])
        elif current is not None:
            current.append(line)
        elif "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return Report(env, {path: "\n".join(lines) for path, lines in files.items()}, text, tuple(mounts))


def phase(api: client.ApiClient, namespace: str, name: str) -> str:
    status = client.CoreV1Api(api).read_namespaced_pod(name, namespace).status
    return str(status.phase) if status and status.phase else ""


def wait_phase(api: client.ApiClient, namespace: str, name: str, want: str, timeout: float = 90) -> None:
    def reached() -> bool:
        now = phase(api, namespace, name)
        if now == "Failed" and want != "Failed":
            raise AssertionError(f"pod {namespace}/{name} failed: {describe(api, namespace, name)}")
        return now == want

    eventually(reached, timeout=timeout, what=f"pod {namespace}/{name} {want}")


def describe(api: client.ApiClient, namespace: str, name: str) -> str:
    status = client.CoreV1Api(api).read_namespaced_pod(name, namespace).status
    return str(api.sanitize_for_serialization(status))


def running(api: client.ApiClient, namespace: str, name: str, timeout: float = 90) -> client.V1Pod:
    wait_phase(api, namespace, name, "Running", timeout)
    return client.CoreV1Api(api).read_namespaced_pod(name, namespace)


def logs(cluster: Cluster, namespace: str, name: str) -> str:
    """`kubectl logs`: API server -> kubelet (its client certificate, the kubelet's webhook authz)."""
    return cluster.kubectl("logs", "--namespace", namespace, name).stdout


def run(cluster: Cluster, api: client.ApiClient, namespace: str, body: dict[str, Any]) -> Report:
    """Create the pod, wait for Succeeded, return what it printed."""
    client.CoreV1Api(api).create_namespaced_pod(namespace, body)
    name = body["metadata"]["name"]
    wait_phase(api, namespace, name, "Succeeded")
    return parse(logs(cluster, namespace, name))


def report_of_running(cluster: Cluster, namespace: str, name: str) -> Report:
    """The report of a pod that keeps running after it (a Deployment's): wait until it is complete."""

    def complete() -> str | None:
        out = logs_or_empty(cluster, namespace, name)
        return out if END in out else None

    return parse(eventually(complete, timeout=90, what=f"the report of {namespace}/{name}"))


def logs_or_empty(cluster: Cluster, namespace: str, name: str) -> str:
    result = cluster.kubectl("logs", "--namespace", namespace, name, check=False)
    return result.stdout if result.returncode == 0 else ""
