"""Starting and stopping control-plane processes without leaving orphans.

Each component runs in its own session (process group) so that a stop signal reaches anything
it might fork. Started from a test session, children also get PR_SET_PDEATHSIG: if the test
process dies, even by SIGKILL, the kernel kills them too. Started from `envtest up` they are
daemons instead, and the PID plus its kernel start time is recorded so `down` never signals a
recycled PID that now belongs to someone else.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
# Every component talks to loopback (or the node's own bridge) only: an inherited proxy setting
# could send the API server's calls to a kubelet or webhook off this machine.
PROXY_VARIABLES = frozenset(
    name
    for base in ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "ftp_proxy")
    for name in (base, base.upper())
)


def component_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's environment) without any proxy variable."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if k not in PROXY_VARIABLES}


@dataclass(frozen=True)
class ProcessRecord:
    """Identifies one started process across invocations of the CLI."""

    name: str
    pid: int
    start_ticks: int


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(record: ProcessRecord) -> bool:
    fields = _stat_fields(record.pid)
    if fields is None or int(fields[19]) != record.start_ticks:
        return False
    return fields[0] not in ("Z", "X")


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    die_with_parent: bool,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Start `argv` in a new session, stdout and stderr appended to `log_path`; no proxy variables."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()) if die_with_parent else None,
            env=component_env(env),
            close_fds=True,
        )
    ticks = start_ticks(proc.pid)
    return proc, ProcessRecord(name=name, pid=proc.pid, start_ticks=ticks if ticks is not None else -1)


def _signal_group(record: ProcessRecord, sig: signal.Signals) -> None:
    if not is_alive(record):
        return
    try:
        os.killpg(record.pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(record.pid, sig)


def _wait_gone(records: Sequence[ProcessRecord], timeout: float) -> list[ProcessRecord]:
    deadline = time.monotonic() + timeout
    alive = [r for r in records if is_alive(r)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [r for r in alive if is_alive(r)]
    return alive


def stop(records: Sequence[ProcessRecord], timeout: float = 15.0) -> list[ProcessRecord]:
    """SIGTERM in the given order, each waited for; SIGKILL what ignores it. Returns survivors."""
    for record in records:
        _signal_group(record, signal.SIGTERM)
        if _wait_gone([record], timeout):
            _signal_group(record, signal.SIGKILL)
    return _wait_gone(records, timeout)


def kill(records: Sequence[ProcessRecord], timeout: float = 15.0) -> list[ProcessRecord]:
    """SIGKILL at once, no shutdown path (a machine that lost power); returns survivors."""
    for record in records:
        _signal_group(record, signal.SIGKILL)
    return _wait_gone(records, timeout)


def terminate(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float = 20.0) -> None:
    """Stop a child started by a test (an operator run): SIGTERM, then SIGKILL after `grace`.

    SIGTERM first so the operator's shutdown path (and its last log lines) is exercised."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
