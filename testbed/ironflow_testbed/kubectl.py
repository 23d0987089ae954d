"""Running the control plane's own kubectl against one explicit kubeconfig.

The kubeconfig is always passed with --kubeconfig and KUBECONFIG is pinned to the same file in
the child environment, so a kubectl started here can never pick another cluster by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

_CLUSTER_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


def safe_env(kubeconfig: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment with in-cluster hints removed and KUBECONFIG pinned."""
    env = {k: v for k, v in os.environ.items() if k not in _CLUSTER_ENV}
    env["KUBECONFIG"] = str(kubeconfig)
    env.update(extra or {})
    return env


class KubectlError(RuntimeError):
    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        self.result = result


class Kubectl:
    """`kubectl(...)` runs a command; check=False returns failures for tests to inspect."""

    def __init__(self, kubeconfig: Path, executable: Path | None = None) -> None:
        self.kubeconfig = Path(kubeconfig)
        found = executable or shutil.which("kubectl")
        if found is None:
            raise FileNotFoundError("no kubectl: pass the control plane's bin directory")
        self.executable = Path(found)

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.executable), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=safe_env(self.kubeconfig),
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result)
        return result

    def with_kubeconfig(self, kubeconfig: Path) -> Kubectl:
        """The same kubectl as another user (e.g. a limited user's kubeconfig)."""
        return Kubectl(kubeconfig, self.executable)

    def apply(self, *paths: str | Path, namespace: str | None = None, server_side: bool = True) -> str:
        """Apply YAML files or directories; server-side apply so large CRDs fit (no annotation limit)."""
        args = ["apply"]
        if server_side:
            args += ["--server-side", "--force-conflicts", "--field-manager=ironflow-tests"]
        if namespace:
            args += ["--namespace", namespace]
        for path in paths:
            args += ["-f", str(path)]
        return self(*args).stdout

    def apply_text(self, manifest: str, namespace: str | None = None) -> str:
        args = ["apply", "--server-side", "--force-conflicts", "--field-manager=ironflow-tests", "-f", "-"]
        if namespace:
            args += ["--namespace", namespace]
        return self(*args, input=manifest).stdout

    def wait_for(
        self, condition: str, *targets: str, timeout: float = 60.0, namespace: str | None = None
    ) -> str:
        """`kubectl wait --for=CONDITION TARGETS` with a deadline (e.g. condition=Established)."""
        args = ["wait", f"--for={condition}", f"--timeout={int(timeout)}s", *targets]
        if namespace:
            args += ["--namespace", namespace]
        return self(*args, timeout=timeout + 15).stdout
