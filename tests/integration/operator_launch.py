"""Starting `ironflow-operator` as a child process: the one way every test suite does it.

The integration fixtures (operator_fixtures.py, ha_fixtures.py) and the e2e runs of the installed
Deployment (tests/e2e) differ only in the arguments: all start the installed console script
with a clean environment (no in-cluster hint, no KUBECONFIG, no IRONFLOW_* setting of the
session), write its output to a file, and wait for /readyz on a condition with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ironflow_testbed import eventually
from ironflow_testbed.processes import terminate

OPERATOR_BINARY = str(Path(sys.executable).parent / "ironflow-operator")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """No in-cluster hints, no KUBECONFIG, no IRONFLOW_* settings leaking in from the session."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KUBERNETES_SERVICE_", "IRONFLOW_")) and k != "KUBECONFIG"
    }
    env.update(extra or {})
    return env


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log: Path
    health_port: int
    metrics_port: int

    def http(self, port: int, path: str) -> tuple[int, str]:
        """Status and text of a local GET (the text of an error status too); 0 when nothing answers."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"operator exited with {self.process.returncode}:\n{self.output()[-3000:]}")
        return self.http(self.health_port, "/readyz")[0] == 200

    def wait_ready(self, timeout: float = 60, what: str = "operator /readyz") -> None:
        eventually(self.ready, timeout=timeout, what=what)

    def readyz(self) -> tuple[int, str]:
        return self.http(self.health_port, "/readyz")

    def metrics(self) -> str:
        status, text = self.http(self.metrics_port, "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return text

    def metric(self, name: str) -> float:
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, value = line.rsplit(" ", 1)
                if head == name or head.startswith(name + "{"):
                    total += float(value)
        return total

    def settled(self, reconciles: float) -> bool:
        """Its queue empty and at least `reconciles` reconciles done."""
        return (
            self.metric("ironflow_queue_depth") == 0
            and self.metric("ironflow_reconcile_duration_seconds_count") >= reconciles
        )

    def stop(self) -> None:
        terminate(self.process)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def launch(
    argv: list[str], log: Path, health_port: int, metrics_port: int, env: Mapping[str, str] | None = None
) -> OperatorProcess:
    """`ironflow-operator ARGV` started, its output in `log`; the caller waits for it (`wait_ready`)
    once it holds the process, so that a start that never gets ready is still stopped."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [OPERATOR_BINARY, *argv], stdout=out, stderr=subprocess.STDOUT, env=clean_env(env)
        )
    return OperatorProcess(process, log, health_port, metrics_port)
