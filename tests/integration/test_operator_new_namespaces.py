"""A namespace created after start that the served globs match is served within seconds, also
while other namespaces come and go (kopf watches once, across the cluster)."""

from __future__ import annotations

import threading
import time

from kubernetes import client
from operator_fixtures import Operator, apply_cr, new_key, sealed, served_within

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures"]
NEW_NAMESPACE_SECONDS = 5.0
LABELS = {"ironflow.io/test": "true"}


def _churn(core: client.CoreV1Api, prefixes: tuple[str, ...], stop: threading.Event, made: list[str]) -> None:
    """Creates and deletes namespaces (served and not) until `stop`: each lives about a second."""
    i = 0
    while not stop.is_set():
        names = [f"{prefix}{i}" for prefix in prefixes]
        for name in names:
            core.create_namespace({"metadata": {"name": name, "labels": LABELS}})
            made.append(name)
        stop.wait(0.5)  # pacing the churn, not synchronising on anything
        for name in names:
            core.delete_namespace(name, propagation_policy="Background")
        i += 1


def _gone(core: client.CoreV1Api, name: str) -> bool:
    try:
        core.read_namespace(name)
    except client.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def test_given_namespace_glob_when_namespaces_come_and_go_then_each_new_match_served_within_bound(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    base = namespace[:44]
    operator.namespaces = [f"{base}-n*", f"!{base}-nx*"]
    operator.start()
    core = client.CoreV1Api(k8s_api)
    stop, made = threading.Event(), []
    # Served ones and excluded ones come and go while the namespaces under test are created.
    prefixes = (f"{base}-nc", f"{base}-nx", f"{base}-o")
    churn = threading.Thread(target=_churn, args=(core, prefixes, stop, made))
    churn.start()
    late = [f"{base}-n{i}" for i in range(3)]
    try:
        figures = []
        for name in late:
            # A served namespace has come and gone (kopf stops what it started there) just before.
            first = len(made)
            eventually(lambda n=first + 6: len(made) >= n, what="namespaces created and deleted meanwhile")
            eventually(lambda gone=made[first]: _gone(core, gone), timeout=60, what=f"{made[first]} deleted")
            core.create_namespace({"metadata": {"name": name, "labels": LABELS}})
            created = time.monotonic()
            apply_cr(k8s_api, "IronflowSecret", name, "app", {"A": sealed(key, name, "A", "a")})
            figures.append(served_within(k8s_api, key, name, created, NEW_NAMESPACE_SECONDS))
        print("served after", ", ".join(f"{s:.2f}s" for s in figures))
    finally:
        stop.set()
        churn.join(timeout=30)
        for name in late + made:
            try:
                core.delete_namespace(name, propagation_policy="Background")
            except client.ApiException as error:
                if error.status != 404:
                    raise

