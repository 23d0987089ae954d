"""One bench-scale table out of several sittings: pure functions of results files.

At 100,000 resources a replica count takes hours of a 2-CPU machine, so the replica counts and
the peer can be measured by separate invocations (`--merge` the earlier results files) and drawn
as one table. Every result, a run or the peer, carries the invocation that measured it ("part":
its arguments that shape the figures, machine, start) and when it finished; the table quotes each
part, so a merged table says which command measured which column. A replica count measured again
replaces the older figure, and so does a newer peer: the newest result wins, and of two equally
new the one from the later file. Results written before parts were recorded get a part read back
from their figures (flagged as such, machine unknown) and the file's time as when they finished.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Results = dict[str, Any]  # {"runs": [run, ...], "peer": peer or None}, as scale_bench writes it


def utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def this_part(argv: list[str], started: float) -> dict[str, Any]:
    return {"argv": argv, "host": platform.node(), "cpus": os.cpu_count(), "started": utc(started)}


def stamped(result: dict[str, Any], part: dict[str, Any], finished: float) -> dict[str, Any]:
    return {**result, "part": part, "finished": utc(finished)}


def read_back(results: Results, written: float) -> Results:
    """Results without parts, stamped with what their figures tell of the arguments that made them
    (the kill's Lease duration, sharding, the peer's cap when it ran out; never the gap)."""
    runs, peer = results["runs"], results.get("peer")
    if all("part" in r for r in runs) and (peer is None or "part" in peer):
        return results
    sized = runs[0] if runs else peer
    assert sized is not None  # one of them lacks a part
    argv = ["--resources", str(sized["n"])]
    if runs:
        argv += ["--namespaces", str(runs[0]["namespaces"])]
        argv += ["--replicas", ",".join(str(r["replicas"]) for r in runs)]
    for run in (r for r in runs if "kill" in r):
        argv += ["--kill-with", str(run["replicas"])]
        argv += ["--lease-duration", f"{run['kill']['lease_duration']:g}"]
    argv += ["--no-sharding"] if any(r["replicas"] > 1 and not r["sharding"] for r in runs) else []
    argv += ["--peer-cap", f"{peer['cap']:g}"] if peer is not None and "cap" in peer else []
    argv += ["--log-level", "debug"] if runs else []  # every run before the option existed
    part = {"argv": argv, "host": None, "cpus": None, "written": utc(written), "recorded": False}

    def stamp(result: dict[str, Any]) -> dict[str, Any]:
        return result if "part" in result else stamped(result, part, written)

    return {"runs": [stamp(r) for r in runs], "peer": None if peer is None else stamp(peer)}


def load(path: Path) -> Results:
    results = json.loads(path.read_text())
    if not isinstance(results, dict) or not isinstance(results.get("runs"), list):
        raise ValueError(f"{path}: not a bench-scale results file (no list of runs)")
    return read_back(results, path.stat().st_mtime)


def merge(sources: Sequence[Results]) -> Results:
    """Per replica count and for the peer the newest result; runs in order of replica count."""
    runs: dict[int, tuple[tuple[str, int], dict[str, Any]]] = {}
    peer: tuple[tuple[str, int], dict[str, Any]] | None = None
    for order, source in enumerate(sources):
        for run in source["runs"]:
            key = (run["finished"], order)
            if run["replicas"] not in runs or key >= runs[run["replicas"]][0]:
                runs[run["replicas"]] = (key, run)
        theirs = source.get("peer")
        if theirs is not None and (peer is None or (theirs["finished"], order) >= peer[0]):
            peer = ((theirs["finished"], order), theirs)
    merged: Results = {"runs": [runs[r][1] for r in sorted(runs)], "peer": None if peer is None else peer[1]}
    sizes = {(r["n"], r["namespaces"]) for r in merged["runs"]}
    if len(sizes) > 1:
        raise ValueError(f"parts at different sizes (resources, namespaces): {sorted(sizes)}")
    if merged["peer"] is not None and any(n != merged["peer"]["n"] for n, _ in sizes):
        raise ValueError(f"the peer ran at N = {merged['peer']['n']}, the replicas at {sorted(sizes)}")
    return merged


def check_size(results: Results, n: int, namespaces: int) -> None:
    """Before hours of measuring: the earlier parts were measured at this invocation's size."""
    other = {(r["n"], r["namespaces"]) for r in results["runs"]} - {(n, namespaces)}
    if other or (results["peer"] is not None and results["peer"]["n"] != n):
        raise ValueError(
            f"earlier parts are at another size than --resources {n} --namespaces {namespaces}: "
            f"{sorted(other) or [results['peer']['n']]}"
        )


def _columns(counts: list[int], peer: bool) -> str:
    """[1, 2], True: "1 and 2 replicas and Sealed Secrets"."""
    words = [str(c) for c in counts]
    if len(words) > 1:
        words = [", ".join(words[:-1]), words[-1]]
    replicas = f"{' and '.join(words)} replica{'' if counts == [1] else 's'}" if counts else ""
    return " and ".join(n for n in (replicas, "Sealed Secrets" if peer else "") if n)


def _command(part: dict[str, Any]) -> str:
    quoted = f"`benchmarks/scale_bench.py {' '.join(part['argv'])}`"
    if part.get("recorded", True) is False:
        quoted += ", read back from its results, which did not record the arguments or the machine"
    return quoted


def _where(part: dict[str, Any], finished: str) -> str:
    machine = f" on {part['host']} ({part['cpus']} CPUs)" if part.get("host") else ""
    return f"{machine}, {finished[:10]}"


def provenance(runs: list[dict[str, Any]], peer: dict[str, Any] | None) -> str:
    """The sentence that says what measured the table: one command, or each part and its columns
    (the date a part's last result used here finished)."""
    parts: dict[str, tuple[dict[str, Any], list[int], bool, str]] = {}
    for result in [*runs, *([] if peer is None else [peer])]:
        key = json.dumps(result["part"], sort_keys=True)
        part, counts, has_peer, finished = parts.get(key, (result["part"], [], False, ""))
        if result is peer:
            has_peer = True
        else:
            counts = [*counts, result["replicas"]]
        parts[key] = (part, counts, has_peer, max(finished, result["finished"]))
    if len(parts) == 1:
        ((part, _, _, finished),) = parts.values()
        return f"Generated by `make bench-scale` ({_command(part)}){_where(part, finished)}."
    quoted = [f"{_columns(c, has)} by {_command(p)}{_where(p, f)}" for p, c, has, f in parts.values()]
    return f"Generated by `make bench-scale` in {len(parts)} parts: {'; '.join(quoted)}."
