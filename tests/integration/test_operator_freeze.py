"""A leader frozen past its renew deadline (a stopped container, a paused VM) while values change.

While frozen its Lease stays its own (the duration is longer than the freeze), but its renew
deadline passes, so on waking it refuses to write until its next renewal. The changes that arrived
meanwhile were dequeued and dropped in that moment, trusting a new leader to resync them; with no
new leader and no loss ever announced, nothing did, and they stayed unprojected until each value
changed again (found at 10,000 resources by `bench-scale --burst`).
"""

from __future__ import annotations

import datetime
import os
import signal

from kubernetes import client
from operator_fixtures import Operator, apply_cr, configmap_data, wait_ready

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures"]
CONFIG = "IronflowConfig"
LEASE = "ironflow-operator"
RENEW_DEADLINE = 2.0
COUNT = 40


def _renewed_ago(api: client.ApiClient, namespace: str) -> float:
    lease = client.CoordinationV1Api(api).read_namespaced_lease(LEASE, namespace)
    renewed = lease.spec.renew_time
    assert renewed is not None, lease
    return (datetime.datetime.now(datetime.UTC) - renewed).total_seconds()


def test_given_a_leader_frozen_past_its_renew_deadline_when_values_change_then_all_are_projected_on_waking(
    operator: Operator, namespace: str, k8s_api: client.ApiClient,
) -> None:
    run = operator.start("--leader-identity=frozen", "--lease-duration=60",
                         f"--lease-renew-deadline={RENEW_DEADLINE}", "--lease-retry-period=0.5")
    for i in range(COUNT):
        apply_cr(k8s_api, CONFIG, namespace, f"c{i}", {f"V{i}": f"before-{i}"})
    for i in range(COUNT):
        wait_ready(k8s_api, CONFIG, namespace, f"c{i}")

    os.kill(run.process.pid, signal.SIGSTOP)
    try:
        for i in range(COUNT):
            apply_cr(k8s_api, CONFIG, namespace, f"c{i}", {f"V{i}": f"after-{i}"})
        eventually(lambda: _renewed_ago(k8s_api, operator.operator_namespace) > RENEW_DEADLINE + 2,
                   timeout=30, what="the frozen leader's renew deadline passed")
    finally:
        os.kill(run.process.pid, signal.SIGCONT)

    eventually(lambda: all(configmap_data(k8s_api, namespace, f"c{i}") == {f"V{i}": f"after-{i}"}
                           for i in range(COUNT)),
               timeout=30, what="every change made during the freeze projected")
    for i in range(COUNT):
        wait_ready(k8s_api, CONFIG, namespace, f"c{i}")
    assert "renewed after its deadline had passed" in run.output()
    lease = client.CoordinationV1Api(k8s_api).read_namespaced_lease(LEASE, operator.operator_namespace)
    assert lease.spec.holder_identity == "frozen"  # the same leader all along: no take-over resynced it
