"""Process handling: stop what we started, never a recycled PID, and children die with their parent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ironflow_testbed.processes import ProcessRecord, is_alive, spawn, stop
from ironflow_testbed.readiness import eventually


def test_given_spawned_process_when_stopped_then_gone_and_logged(tmp_path: Path) -> None:
    proc, record = spawn(
        "sleeper", ["bash", "-c", "echo started; exec sleep 60"], tmp_path / "s.log", die_with_parent=False
    )
    try:
        assert is_alive(record)
        eventually(lambda: "started" in (tmp_path / "s.log").read_text(), timeout=5, what="log line")
        assert stop([record], timeout=5) == []
        assert proc.wait(timeout=5) == -15
        assert not is_alive(record)
    finally:
        proc.kill()
        proc.wait()


def test_given_process_ignoring_sigterm_when_stopped_then_killed(tmp_path: Path) -> None:
    script = "trap '' TERM; echo ready; while true; do sleep 0.1; done"
    proc, record = spawn("stubborn", ["bash", "-c", script], tmp_path / "x.log", die_with_parent=False)
    try:
        eventually(lambda: "ready" in (tmp_path / "x.log").read_text(), timeout=5, what="trap installed")
        assert stop([record], timeout=0.5) == []
        assert proc.wait(timeout=5) == -9
    finally:
        proc.kill()
        proc.wait()


def test_given_record_with_other_start_time_when_stopping_then_pid_left_alone(tmp_path: Path) -> None:
    proc, record = spawn("victim", ["sleep", "60"], tmp_path / "v.log", die_with_parent=False)
    try:
        recycled = ProcessRecord("old", record.pid, record.start_ticks - 1)
        assert not is_alive(recycled)
        stop([recycled], timeout=0.5)
        assert proc.poll() is None, "a PID that was reused by another process must never be signalled"
    finally:
        proc.kill()
        proc.wait()


def test_given_child_started_with_die_with_parent_when_parent_killed_then_child_dies(tmp_path: Path) -> None:
    program = (
        "import sys, time; from pathlib import Path; from ironflow_testbed.processes import spawn; "
        f"_, r = spawn('child', ['sleep', '60'], Path({str(tmp_path / 'c.log')!r}), die_with_parent=True); "
        "print(r.pid, r.start_ticks, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid, ticks = (int(x) for x in parent.stdout.readline().split())
        child = ProcessRecord("child", pid, ticks)
        assert is_alive(child)
        parent.kill()
        parent.wait(timeout=5)
        eventually(lambda: not is_alive(child), timeout=5, what="the child to die with its parent")
    finally:
        parent.kill()
        parent.wait()
