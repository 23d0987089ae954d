"""Session safety and the cluster fixtures shared by every test directory.

Safety rule: tests talk only to the control plane this session starts, or to a cluster named
explicitly with `pytest --kubeconfig PATH`. Before anything runs, in-cluster hints are removed,
HOME points at an empty temporary directory (so ~/.kube/config cannot be read by any client or
subprocess) and KUBECONFIG is pinned, first to a file that does not exist, then to the chosen
cluster's kubeconfig. The control plane starts lazily: unit tests never pay for it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from kubernetes import client

from ironflow_testbed import ControlPlane, Kubectl, eventually
from ironflow_testbed.binaries import BIN_DIR_ENV, default_bin_dir, find_bin_dir
from ironflow_testbed.cluster import Cluster

_STARTUP: dict[str, str] = {}
_TEMP_HOME: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kubeconfig",
        default=None,
        help="run integration tests against this cluster instead of starting a control plane",
    )


def pytest_configure(config: pytest.Config) -> None:
    for variable in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        os.environ.pop(variable, None)
    # Resolve the binary cache against the real HOME before HOME is replaced.
    os.environ.setdefault(BIN_DIR_ENV, str(default_bin_dir(Path.home())))
    home = tempfile.mkdtemp(prefix="ironflow-test-home-")
    _TEMP_HOME.append(home)
    os.environ["HOME"] = home
    os.environ["KUBECONFIG"] = str(Path(home) / "no-cluster-selected")


def pytest_unconfigure(config: pytest.Config) -> None:
    for home in _TEMP_HOME:
        shutil.rmtree(home, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _STARTUP.values():
        terminalreporter.write_line(line)


class _StopOnExit:
    """Stops the control plane on interpreter exit, SIGTERM and SIGHUP (PDEATHSIG covers SIGKILL)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        atexit.register(self.plane.stop)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self.previous[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        atexit.unregister(self.plane.stop)
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.plane.stop()
        self.uninstall()
        os.kill(os.getpid(), signum)


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    external = request.config.getoption("--kubeconfig")
    if external:
        path = Path(external).expanduser().resolve()
        if not path.is_file():
            raise pytest.UsageError(f"--kubeconfig {path}: no such file")
        try:
            bin_dir: Path | None = find_bin_dir()
        except FileNotFoundError:
            bin_dir = None
        os.environ["KUBECONFIG"] = str(path)
        kubectl = Kubectl(path, bin_dir / "kubectl" if bin_dir else None)
        _STARTUP["cluster"] = f"integration tests ran against --kubeconfig {path}"
        yield Cluster(path, kubectl, bin_dir)
        return
    plane = ControlPlane(tmp_path_factory.mktemp("control-plane"), die_with_parent=True)
    guard = _StopOnExit(plane)
    guard.install()
    try:
        plane.start()
        _STARTUP["cluster"] = (
            f"control plane {plane.server} in {plane.layout.root}: started in "
            f"{plane.timings['total']:.1f}s ({plane.describe_timings()})"
        )
        os.environ["KUBECONFIG"] = str(plane.kubeconfig)
        yield Cluster(
            plane.kubeconfig, Kubectl(plane.kubeconfig, plane.bin_dir / "kubectl"), plane.bin_dir, plane
        )
    finally:
        plane.stop()
        guard.uninstall()


@pytest.fixture(scope="session")
def k8s_api(cluster: Cluster) -> Iterator[client.ApiClient]:
    api = cluster.api_client()
    try:
        yield api
    finally:
        api.close()


REPO_ROOT = Path(__file__).resolve().parent.parent
CRD_DIR = REPO_ROOT / "crds"
# The IronflowConfig value rules need CEL's flatten(), which API servers before 1.35 refuse: they are
# applied only from 1.35 on, as the chart and docs/install.md do.
VALUES_POLICY_DIR = CRD_DIR / "kubernetes-1.35"
VALUES_POLICY_SINCE = (1, 35)
VALUES_POLICY_LOSS = (
    "Kubernetes {}.{}: the IronflowConfig value rules (nesting deeper than 32, numbers beyond +/-2^53-1) "
    "are not installed before 1.35, the documented loss (docs/install.md, Supported Kubernetes versions): "
    "the CLI and the operator refuse such values, the API server does not"
)


def server_version(cluster: Cluster) -> tuple[int, int]:
    """(major, minor) of the API server; a provider's minor such as "33+" counts as 33."""
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]
    minor = re.match(r"\d+", version["minor"])
    assert minor is not None, version
    return int(version["major"]), int(minor.group())


@pytest.fixture(scope="session")
def crds(cluster: Cluster) -> list[str]:
    """Everything in crds/ (the one source of truth) applied once; CRDs Established, policies enforcing."""
    files = sorted(CRD_DIR.glob("*.yaml"))
    if not files:
        raise pytest.UsageError(f"no CRD manifests in {CRD_DIR}")
    values_policy = server_version(cluster) >= VALUES_POLICY_SINCE
    if values_policy:
        files += sorted(VALUES_POLICY_DIR.glob("*.yaml"))
    cluster.kubectl.apply(*files)
    names = cluster.kubectl("get", *[f"--filename={f}" for f in files], "-o", "name").stdout.split()
    definitions = [n for n in names if n.startswith("customresourcedefinition.")]
    cluster.kubectl.wait_for("condition=Established", *definitions, timeout=60)
    if any(n.startswith("validatingadmissionpolicy.") for n in names):
        # A new admission policy takes effect a moment after it is created; wait until it denies.
        eventually(
            lambda: _denied(cluster, _INVALID_CONFIG),
            timeout=30,
            what="admission policies in crds/ enforcing",
        )
    if values_policy:
        eventually(
            lambda: _denied(cluster, _INEXACT_CONFIG),
            timeout=30,
            what=f"the value policy in {VALUES_POLICY_DIR.name}/ enforcing",
        )
    return definitions


@pytest.fixture(scope="session")
def values_policy(cluster: Cluster, crds: list[str]) -> bool:
    """Whether the API server enforces the value rules (1.35 on); before, the documented loss
    (VALUES_POLICY_LOSS), which the tests then assert instead of skipping."""
    return server_version(cluster) >= VALUES_POLICY_SINCE


_INVALID_CONFIG = (
    '{"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowConfig", "metadata": '
    '{"name": "policy-probe", "namespace": "default"}, "spec": {"values": {"NOT A NAME": 1}}}'
)


_INEXACT_CONFIG = _INVALID_CONFIG.replace('"NOT A NAME": 1', '"BIG": 18446744073709551616')


def _denied(cluster: Cluster, manifest: str) -> bool:
    return (
        cluster.kubectl("create", "--dry-run=server", "-f", "-", input=manifest, check=False).returncode != 0
    )


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower().removeprefix("test_")).strip("-")
    return f"t-{stem[:40].strip('-')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def namespace(request: pytest.FixtureRequest, k8s_api: client.ApiClient) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (deletion completes in the background).

    Handed over only once its `default` ServiceAccount exists: until the controller manager
    creates it, the API server refuses every pod in the namespace.
    """
    core = client.CoreV1Api(k8s_api)
    name = _namespace_name(request.node.name)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"ironflow.io/test": "true"}))
    )
    eventually(
        lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items,
        timeout=30,
        what=f"the default ServiceAccount in {name}",
    )
    yield name
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except client.ApiException as error:
        if error.status != 404:
            raise
