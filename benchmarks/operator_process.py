"""Starting and stopping ironflow-operator for the benchmarks, in one place.

operator_bench.py runs the installed `ironflow-operator`; memory_bench.py runs it through
traced_operator.py (its SIGUSR1 census). Both run one process without leader election (its Lease
renewals would blur the write counts), 8 workers, in the benchmark namespace, with no in-cluster
hint and no IRONFLOW_* setting from the caller's environment. scale_bench.py (replica_group.py)
builds its replicas from the same command line and environment, with leader election and
sharding on, its own served namespaces and ports per replica.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NS = "bench"


def start_operator(
    kubeconfig: Path,
    log: Path,
    *extra: str,
    census: Path | None = None,
    python_args: tuple[str, ...] = (),
    source: Path | None = None,
) -> subprocess.Popen[bytes]:
    """The operator as a child process; with `census`, traced_operator.py writes it there.

    `source` runs the package from another tree (its `operator/` folder put first on the path):
    compare.py measures two revisions with one harness, so only the operator differs.
    """
    argv = operator_argv(kubeconfig, census, python_args, "--no-leader-election", *extra)
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=operator_env(census, source))


def operator_argv(
    kubeconfig: Path,
    census: Path | None = None,
    python_args: tuple[str, ...] = (),
    *extra: str,
    namespace: str = NS,
    ports: tuple[int, int] = (0, 0),
) -> list[str]:
    """The command line; `ports` (metrics, health) 0 for none; election flags come in `extra`."""
    if census is None:
        command = [str(Path(sys.executable).parent / "ironflow-operator")]
    else:
        command = [sys.executable, *python_args, str(HERE / "traced_operator.py")]
    return [
        *command,
        f"--kubeconfig={kubeconfig}",
        f"--namespace={namespace}",
        f"--metrics-port={ports[0]}",
        f"--health-port={ports[1]}",
        "--workers=8",
        "--log-level=debug",
        *extra,
    ]


def operator_env(census: Path | None = None, source: Path | None = None) -> dict[str, str]:
    """This environment without in-cluster hints or IRONFLOW_* settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_SERVICE_", "IRONFLOW_"))}
    if census is not None:
        env["IRONFLOW_CENSUS"] = str(census)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH", "")]))
    return env


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    process.terminate()
    process.wait(timeout=timeout)


def webhook_args(url: str, cert_dir: Path) -> tuple[str, str]:
    return f"--webhook-url={url}", f"--webhook-cert-dir={cert_dir}"
