"""R operator processes of one release, as the chart runs them, for the scale benchmark.

Each replica has its own identity (leader identity and replica id r0, r1, ...), its own metrics
and health ports and its own log; all run as the same user, as a Deployment's pods share one
service account. They are started through the test bed's `spawn`, so each runs in its own
session and dies with this process even when this process is killed (PR_SET_PDEATHSIG): an
aborted benchmark leaves no operator behind. Sharding is on when asked for (the default with
more than one replica); without it the elected replica writes everything.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path

from operator_process import operator_argv, operator_env
from process_stats import cpu_seconds, vm_hwm_mib

from ironflow_testbed.ports import free_ports
from ironflow_testbed.processes import spawn


class ReplicaGroup:
    def __init__(
        self, kubeconfig: Path, workdir: Path, count: int, sharding: bool, lease_duration: float, served: str,
        log_level: str = "info",
    ) -> None:
        self.kubeconfig, self.workdir, self.count, self.log_level = kubeconfig, workdir, count, log_level
        self.sharding, self.lease_duration, self.served = sharding, lease_duration, served
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.peaks: dict[str, float] = {}  # VmHWM, MiB, last read (a killed replica keeps its last)

    def start(self) -> None:
        ports = free_ports(2 * self.count)  # at once: no two replicas get the same port
        for i in range(self.count):
            replica = f"r{i}"
            argv = operator_argv(
                self.kubeconfig,
                None,
                (),
                "--leader-election",
                f"--leader-identity={replica}",
                f"--replica-id={replica}",
                f"--lease-duration={self.lease_duration}",
                *(["--sharding"] if self.sharding else []),
                f"--log-level={self.log_level}",  # the last --log-level given wins
                namespace=self.served,
                ports=(ports[2 * i], ports[2 * i + 1]),
            )
            log = self.workdir / f"operator-{replica}.log"
            self.processes[replica], _ = spawn(replica, argv, log, die_with_parent=True, env=operator_env())

    def live(self) -> dict[str, subprocess.Popen[bytes]]:
        return {r: p for r, p in self.processes.items() if p.poll() is None}

    def cpu(self) -> float:
        """CPU seconds of the live replicas together."""
        return sum(cpu_seconds(p.pid) for p in self.live().values())

    def read_peaks(self) -> dict[str, float]:
        self.peaks.update({r: vm_hwm_mib(p.pid) for r, p in self.live().items()})
        return dict(self.peaks)

    def kill(self, replica: str) -> None:
        """SIGKILL: no clean stop, its member Lease stays until it expires."""
        self.read_peaks()
        process = self.processes[replica]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def pause(self) -> None:
        """SIGSTOP every live replica: what is written meanwhile waits for them (the burst phase)."""
        for process in self.live().values():
            process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        for process in self.live().values():
            process.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 60) -> None:
        self.resume()  # a stopped process does not act on SIGTERM
        for process in self.live().values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=10)
