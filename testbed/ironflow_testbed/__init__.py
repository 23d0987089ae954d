"""The embedded real control plane (etcd, kube-apiserver, kube-controller-manager) for tests and dev.

Like controller-runtime's envtest: real binaries on loopback, a fresh CA per run, RBAC enforced,
an audit log to inspect, and no process left behind. See `python -m ironflow_testbed --help`.
"""

from ironflow_testbed.audit import AuditEvent, AuditLog
from ironflow_testbed.binaries import K8S_VERSION, find_bin_dir
from ironflow_testbed.controlplane import ControlPlane, stop_recorded
from ironflow_testbed.kubectl import Kubectl, KubectlError, safe_env
from ironflow_testbed.readiness import eventually

__all__ = [
    "K8S_VERSION",
    "AuditEvent",
    "AuditLog",
    "ControlPlane",
    "Kubectl",
    "KubectlError",
    "eventually",
    "find_bin_dir",
    "safe_env",
    "stop_recorded",
]
