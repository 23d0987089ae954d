"""The pure parts of `make bench-scale`: which replica wrote where and when (from audit records),
overlapping windows, the time until a killed replica's namespaces are written again, the tables."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import replica_audit  # noqa: E402
import scale_report  # noqa: E402
from replica_audit import UNNAMED, ReplicaWrites  # noqa: E402

AGENT = "ironflow-operator/0.9.0 (replica {})"


def test_given_user_agents_when_read_then_the_replica_id_or_unnamed() -> None:
    assert replica_audit.replica_of(AGENT.format("ironflow-7d9f-abc12")) == "ironflow-7d9f-abc12"
    assert replica_audit.replica_of("ironflow-operator/0.9.0") == UNNAMED
    assert replica_audit.replica_of("kopf/1.37.2 (replica r1)") == "r1"
    assert replica_audit.replica_of("kopf/1.37.2") == UNNAMED


def at(*instants: float) -> list[tuple[float, float]]:
    """Writes answered the moment they arrived."""
    return [(t, t) for t in instants]


def test_given_writes_with_a_long_pause_when_split_then_two_windows() -> None:
    assert replica_audit.windows(at(5.0, 1.0, 2.0, 20.0, 21.0), gap=5) == [(1.0, 5.0), (20.0, 21.0)]


def test_given_a_slow_answer_when_windows_are_drawn_then_the_window_lasts_until_it() -> None:
    assert replica_audit.windows([(1.0, 9.0), (2.0, 3.0), (12.0, 12.5)], gap=2) == [(1.0, 9.0), (12.0, 12.5)]


def test_given_a_clean_hand_over_when_checked_then_no_namespace_overlaps() -> None:
    writes = {("ns-a", "r0"): at(1.0, 2.0, 3.0), ("ns-a", "r1"): at(3.5, 4.0), ("ns-b", "r1"): at(1.0, 9.0)}
    assert replica_audit.overlapping_namespaces(writes, gap=5) == {}


def test_given_two_replicas_writing_one_namespace_at_once_when_checked_then_it_overlaps() -> None:
    writes = {("ns-a", "r0"): at(1.0, 2.0, 3.0, 4.0), ("ns-a", "r1"): at(2.5), ("ns-b", "r0"): at(1.0)}
    assert replica_audit.overlapping_namespaces(writes, gap=5) == {"ns-a": {"r0", "r1"}}


def test_given_a_write_still_unanswered_when_the_next_owner_starts_then_it_overlaps() -> None:
    """r0's last write arrived at 3 s but was answered at 5 s; r1 began at 4 s: both at once."""
    writes = {("ns-a", "r0"): [(1.0, 1.1), (3.0, 5.0)], ("ns-a", "r1"): at(4.0, 6.0)}
    assert replica_audit.overlapping_namespaces(writes, gap=0.5) == {"ns-a": {"r0", "r1"}}


def test_given_a_namespace_handed_away_and_back_when_checked_then_no_overlap() -> None:
    """r0 hands ns-a to r1 at 3 s and gets it back at 30 s: its two windows lie around r1's."""
    writes = {("ns-a", "r0"): at(1.0, 2.0, 30.0, 31.0), ("ns-a", "r1"): at(10.0, 20.0)}
    assert replica_audit.overlapping_namespaces(writes, gap=12) == {}


def test_given_a_third_writer_inside_a_long_window_when_checked_then_it_is_found() -> None:
    writes = {
        ("ns-a", "r0"): at(0.0, 5.0),
        ("ns-a", "r1"): at(6.0, 10.0, 14.0, 18.0),
        ("ns-a", "r2"): at(12.0),
    }
    assert replica_audit.overlapping_namespaces(writes, gap=5) == {"ns-a": {"r1", "r2"}}


def test_given_a_kill_when_served_again_is_measured_then_first_write_by_another_replica_counts() -> None:
    writes = {
        ("ns-a", "r2"): at(10.0, 11.0),
        ("ns-a", "r0"): at(5.0, 30.0, 40.0),  # 5.0 was before the kill: not the take-over
        ("ns-b", "r2"): at(12.0),
        ("ns-b", UNNAMED): at(13.0),  # an unnamed agent is nobody's take-over
        ("ns-c", "r2"): at(1.0),  # before this change began: not one of its namespaces now
        ("ns-d", "r1"): at(12.5),
    }
    again = replica_audit.served_again(writes, killed="r2", since=8.0, kill_at=12.0)
    assert again == {"ns-a": 18.0, "ns-b": None}


def test_given_audit_lines_when_read_then_successful_writes_in_served_namespaces_are_kept_per_replica(
    tmp_path: Path,
) -> None:
    def line(verb: str, ns: str, agent: str, at: str, user: str = "op", code: int = 200) -> str:
        return json.dumps(
            {
                "stage": "ResponseComplete",
                "verb": verb,
                "user": {"username": user},
                "userAgent": agent,
                "objectRef": {"resource": "secrets", "namespace": ns},
                "responseStatus": {"code": code},
                "requestReceivedTimestamp": at,
                "stageTimestamp": at.replace("00:00:0", "00:00:1"),
            }
        )

    log = tmp_path / "audit.log"
    log.write_text(
        "\n".join(
            [
                line("create", "scale-0001", AGENT.format("r0"), "2026-01-01T00:00:01.500000Z"),
                line("get", "scale-0001", AGENT.format("r0"), "2026-01-01T00:00:02Z"),
                line("update", "ironflow-system", AGENT.format("r1"), "2026-01-01T00:00:03Z"),
                line("patch", "scale-0002", AGENT.format("r1"), "2026-01-01T00:00:04Z", user="someone-else"),
                line("patch", "scale-0002", AGENT.format("r1"), "2026-01-01T00:00:05Z", code=409),
            ]
        )
        + "\n"
    )
    reader = ReplicaWrites(log, "op", "scale-")
    assert reader.refresh() == Counter(
        {"create secrets": 1, "get secrets": 1, "update secrets": 1, "patch secrets": 1}
    )
    assert reader.spans() == {("scale-0001", "r0"): [(1767225601.5, 1767225611.5)]}


def _run(replicas: int, **extra: Any) -> dict[str, Any]:
    def phase(seconds: float, writes: int) -> dict[str, Any]:
        return {
            "seconds": seconds,
            "writes": Counter({"create secrets": writes, "update leases": 7}),
            "reads": Counter(),
            "cpu": 3.0,
        }

    return {
        "replicas": replicas,
        "n": 1000,
        "namespaces": 10,
        "sharding": replicas > 1,
        "raw_rate": 500.0,
        "create_rate": 400.0,
        "phases": {"cold": phase(10, 3000), "change": phase(8, 2000), "kill": phase(20, 2100)},
        "hwm": {f"r{i}": 100.0 + i for i in range(replicas)},
        "lost": 0,
        "overlaps": {},
        "writes_by_replica": {f"r{i}": 10 for i in range(replicas)},
        **extra,
    }


def test_given_runs_when_tabled_then_each_figure_is_judged_against_its_bound() -> None:
    kill = {
        "victim": "r1",
        "was_leader": False,
        "after_seconds": 4.0,
        "lease_duration": 15.0,
        "served_again": {"scale-0001": 16.0, "scale-0002": 26.0},
    }
    part = {"argv": ["--replicas", "1,2"], "host": "vm", "cpus": 2, "started": "2026-12-06T10:00:00Z"}
    runs = [
        {**r, "part": part, "finished": "2026-12-06T11:00:00Z"} for r in (_run(1), _run(2, kill=kill, lost=3))
    ]
    block = scale_report.render(runs, None, 448)
    assert "(`benchmarks/scale_bench.py --replicas 1,2`) on vm (2 CPUs), 2026-12-06. Per replica" in block
    assert "| controller writes/s in the change, share of the raw rate | 250/s (50%) | 250/s (50%) |" in block
    assert "| writes per resource, cold / change (Leases apart) | 3.00 / 2.00 | 3.00 / 2.00 |" in block
    assert "| highest peak RSS against the chart's memory limit | 100 MiB, 22% of 448 MiB: met |" in block
    assert "26.0 / 21.0 s: **not met** |" in block  # 26 s > 15 s Lease + 10 s
    assert "| changes lost | 3: **not met** |" in block


def test_given_a_document_when_the_scale_section_is_spliced_twice_then_other_sections_stay() -> None:
    doc = "# Bench\n\n## Memory\nkept\n"
    once = scale_report.splice(doc, "## Scale-out\nfirst")
    twice = scale_report.splice(once, "## Scale-out\nsecond")
    assert twice.startswith(doc.rstrip("\n")) and "second" in twice and "first" not in twice
    assert twice.count(scale_report.BEGIN) == 1


def test_given_a_peer_result_or_its_cap_when_tabled_then_rate_and_peak_or_where_it_stopped() -> None:
    finished = {
        "product": "Sealed Secrets",
        "n": 1000,
        "raw_rate": 500.0,
        "hwm": {"first": 60.0, "restart": 70.0},
        "phases": {"cold": {"seconds": 20.0}, "change": {"seconds": 10.0}},
    }
    table = scale_report.peer_table(finished, 320)
    assert (
        "| every value changed | 10.0 s (100/s) |" in table
        and "| 70 MiB (22% of Ironflow's limit) |" in table
    )
    stopped = scale_report.peer_table({"n": 1000, "cap": 60.0, "stopped": "peer cold start"}, 320)
    assert stopped == "Sealed Secrets at N = 1,000 did not finish a phase within 60 s (`peer cold start`)."


def test_given_a_run_stopped_in_its_change_when_tabled_then_unmeasured_figures_read_not_reached() -> None:
    stuck = _run(2, stopped="change not done in 300 s (1965 of 2000 Ready)", lost=35)
    del stuck["phases"]["change"]
    block = scale_report.replicas_table([_run(1), stuck], 448)
    assert (
        "| run stopped (a wait ran out of time) | no | **change not done in 300 s (1965 of 2000 Ready)** |"
        in block
    )
    assert "| every value changed, until all Ready | 8.0 s (125/s) | not reached |" in block
    assert (
        "| changes lost (projected value differs from the final spec) | 0: met | 35: **not met** |" in block
    )


def test_given_a_kill_phase_that_never_completed_when_tabled_then_its_hand_over_figures_still_show() -> None:
    kill = {
        "victim": "r0",
        "was_leader": True,
        "after_seconds": 4.0,
        "lease_duration": 15.0,
        "served_again": {"scale-0001": 16.0},
    }
    stuck = _run(4, kill=kill, lost=35, stopped="change with a kill not done in 300 s (1965 of 2000 Ready)")
    del stuck["phases"]["kill"]
    table = scale_report.kill_table(stuck)
    assert "| change of every value with the kill, until all Ready | not reached |" in table
    assert "16.0 / 16.0 s: met |" in table and "| changes lost | 35: **not met** |" in table


def test_given_a_list_in_two_pages_when_walked_then_each_page_once_with_the_continue_token_passed_on() -> (
    None
):
    import scale_cluster

    calls: list[str | None] = []

    class Answer:
        def __init__(self, body: dict[str, Any]) -> None:
            self.data = json.dumps(body).encode()

    def list_call(*_: str, limit: int, _continue: str | None, _preload_content: bool) -> Answer:
        calls.append(_continue)
        more = {"continue": "t1"} if _continue is None else {}
        return Answer({"items": [{"n": len(calls)}], "metadata": {"resourceVersion": "7", **more}})

    walked = list(scale_cluster.pages(list_call, "ironflow.io"))
    assert [p["items"] for p in walked] == [[{"n": 1}], [{"n": 2}]] and calls == [None, "t1"]
