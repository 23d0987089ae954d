"""The pure parts of `make bench`: Sealed Secrets' sealing format, the audit counter, the p99 from
the API server's histogram, the tables and the capacity model (benchmarks/, not the package)."""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
import bench_report  # noqa: E402
import process_stats  # noqa: E402
import ss_sealing  # noqa: E402
from audit_stream import AuditCounter  # noqa: E402


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return ss_sealing.new_key(2048)  # the format does not depend on the size; 4096 is slow to make


def test_given_a_sealed_value_when_unsealed_with_its_namespace_and_name_then_the_value_returns(
    key: rsa.RSAPrivateKey,
) -> None:
    sealed = ss_sealing.seal(key.public_key(), "bench", "s1", b"one-1")
    assert ss_sealing.unseal(key, "bench", "s1", sealed) == b"one-1"


def test_given_a_sealed_value_when_laid_out_then_it_is_length_rsa_part_then_gcm_ciphertext_and_tag(
    key: rsa.RSAPrivateKey,
) -> None:
    raw = base64.b64decode(ss_sealing.seal(key.public_key(), "bench", "s1", b"12345"))
    assert int.from_bytes(raw[:2], "big") == 256  # a 2048-bit RSA block
    assert len(raw) == 2 + 256 + 5 + 16


def test_given_a_value_sealed_for_one_name_when_unsealed_under_another_then_it_fails(
    key: rsa.RSAPrivateKey,
) -> None:
    sealed = ss_sealing.seal(key.public_key(), "bench", "s1", b"v")
    with pytest.raises(ValueError):
        ss_sealing.unseal(key, "bench", "s2", sealed)


def test_given_a_key_when_made_into_the_controller_secret_then_it_is_a_labelled_tls_secret(
    key: rsa.RSAPrivateKey,
) -> None:
    secret = ss_sealing.key_secret(key)
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["labels"] == {ss_sealing.KEY_LABEL: "active"}
    assert base64.b64decode(secret["data"]["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert base64.b64decode(secret["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    manifest = ss_sealing.sealed_secret(key.public_key(), "bench", "s1", {"V": b"x"})
    assert manifest["spec"]["template"]["type"] == "Opaque"


def _record(user: str, verb: str, resource: str, stage: str = "ResponseComplete", sub: str = "") -> str:
    ref = {"resource": resource, **({"subresource": sub} if sub else {})}
    return json.dumps({"stage": stage, "verb": verb, "user": {"username": user}, "objectRef": ref})


def test_given_a_growing_audit_log_when_counted_then_only_the_users_completed_requests_count_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    lines = [
        _record("peer", "create", "secrets"),
        _record("peer", "watch", "secrets", stage="ResponseStarted"),
        _record("peer-other", "create", "secrets"),
        _record("admin", "get", "secrets"),
        _record("peer", "update", "sealedsecrets", sub="status"),
    ]
    log.write_text("\n".join(lines) + "\n" + _record("peer", "get", "secrets")[:20])  # a torn last line
    counter = AuditCounter(log, "peer")
    assert counter.writes() == Counter({"create secrets": 1, "update sealedsecrets/status": 1})
    with log.open("w") as out:  # the server finishes the torn line and appends one more
        out.write("\n".join(lines) + "\n" + _record("peer", "get", "secrets") + "\n")
    assert counter.reads() == Counter({"get secrets": 1})
    assert counter.writes() == Counter({"create secrets": 1, "update sealedsecrets/status": 1})


def _result(product: str, n: int, seconds: float, writes: int, hwm: float, **extra: Any) -> dict[str, Any]:
    def phase(s: float, w: int, gets: int = 0) -> dict[str, Any]:
        return {
            "seconds": s,
            "writes": Counter({"create secrets": w}),
            "reads": Counter({"get secrets": gets}),
            "cpu": n / 100,
        }

    return {
        "product": product,
        "n": n,
        "raw_rate": 1000.0,
        "phases": {"cold": phase(seconds, 3 * n), "change": phase(seconds, 2 * n), "restart": phase(5.0, 0)},
        "hwm": {"first": hwm, "restart": hwm + 10},
        **extra,
    }


ADMISSION = {
    "pods": 200,
    "plain_rate": 400.0,
    "declaring_rate": 300.0,
    "reads": Counter(),
    "p99": 0.004,
    "calls": 201,
}


def _pairs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (_result("peer", 2000, 60.0, 3, 60.0), _result("ours", 2000, 20.0, 3, 100.0, admission=ADMISSION)),
        (
            _result("peer", 10000, 300.0, 3, 140.0),
            _result("ours", 10000, 100.0, 3, 260.0, admission=ADMISSION),
        ),
    ]


def test_given_both_products_when_rendered_then_the_table_shows_rates_writes_rss_and_cpu_side_by_side() -> (
    None
):
    peer, ours = _pairs()[0]
    table = bench_report.side_by_side(peer, ours)
    assert "| cold start over N existing, resources/s | 33.3 | 100.0 |" in table
    assert "| writes per resource, cold / change | 3.00 / 2.00 | 3.00 / 2.00 |" in table
    assert (
        "| peak RSS (VmHWM), cold+change process / restart process | 60 / 70 MiB | 100 / 110 MiB |" in table
    )
    assert "| CPU seconds per 1,000 resources, cold / change / restart | 10.00 / 10.00 / 10.00 |" in table
    assert (
        "| controller writes/s as share of the raw write rate, cold / change | 10% / 7% | 30% / 20% |"
        in table
    )


def test_given_a_run_when_goals_are_judged_then_each_goal_says_met_or_not_with_the_figure() -> None:
    table = bench_report.goals(_pairs(), chart_limit_mib=448)
    assert (
        "| 1. memory at N = 10,000, webhook running |" in table
        and "270 MiB against 150 MiB | **not met** |" in table
    )
    assert "| 2. reads in a steady-state reconcile | 0 GETs of projected objects per reconcile" in table
    assert "3.00 x cold, 3.00 x change | met |" in table
    assert "| 5. admission with 2,000 resources |" in table and "p99 4.0 ms; 75% | met |" in table


def test_given_two_sizes_when_the_capacity_model_is_drawn_then_slope_and_replicas_follow_from_the_peaks() -> (
    None
):
    base, kib = bench_report.memory_line(*[ours for _, ours in _pairs()])
    assert kib == pytest.approx(160 / 8000 * 1024)  # (270 - 110) MiB over 8,000 resources
    assert base == pytest.approx(110 - 160 / 8000 * 2000)
    text = bench_report.capacity(_pairs(), chart_limit_mib=448)
    room = (448 / bench_report.HEADROOM - base) * 1024 / kib
    assert f"need **{math.ceil(100_000 / room)} replicas**" in text


def test_given_a_document_with_markers_when_spliced_then_only_the_generated_block_changes() -> None:
    doc = f"intro\n{bench_report.BEGIN}\nold\n{bench_report.END}\n\n## Memory census\nkept\n"
    new = bench_report.splice(doc, f"{bench_report.BEGIN}\nnew\n{bench_report.END}\n")
    assert new == f"intro\n{bench_report.BEGIN}\nnew\n{bench_report.END}\n\n## Memory census\nkept\n"


def test_given_the_chart_when_its_memory_limit_is_read_then_it_is_in_mib() -> None:
    assert bench.chart_memory_limit_mib() > 128


def test_given_this_process_when_measured_then_peak_rss_and_cpu_seconds_are_positive() -> None:
    assert process_stats.vm_hwm_mib(os.getpid()) > 1
    assert process_stats.cpu_seconds(os.getpid()) > 0


def test_given_a_cached_peer_build_when_the_build_script_runs_then_it_prints_the_cache_dir_only(
    tmp_path: Path,
) -> None:
    out = tmp_path / "cache" / "peer" / "sealed-secrets-v0.40.0"
    out.mkdir(parents=True)
    (out / "controller").write_text("#!/bin/sh\n")
    (out / "controller").chmod(0o755)
    (out / "bitnami.com_sealedsecrets.yaml").write_text("kind: CustomResourceDefinition\n")
    done = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(ROOT / "hack" / "build-sealed-secrets.sh")],
        env={"PATH": os.environ["PATH"], "IRONFLOW_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.splitlines() == [str(out)]


def test_given_a_discovery_request_when_keyed_then_it_is_named_by_its_path_not_none() -> None:
    from audit_stream import key

    assert key({"verb": "get", "requestURI": "/apis/apps/v1?timeout=32s"}) == "get /apis/apps/v1"
    assert key({"verb": "patch", "objectRef": {"resource": "secrets"}}) == "patch secrets"


def test_given_gets_of_projected_objects_on_change_when_goals_are_judged_then_the_reads_goal_is_not_met() -> (
    None
):
    pairs = _pairs()
    pairs[-1][1]["phases"]["change"]["reads"] = Counter({"get secrets": 10_000})
    assert (
        "| 1.00 per changed resource (worst N); restart: 0.000 per resource"
        " (start-up reads, not per reconcile) | **not met** |" in bench_report.goals(pairs, 448)
    )


def test_given_two_sizes_when_the_whole_block_is_rendered_then_every_table_is_between_the_markers() -> None:
    block = bench_report.render(_pairs(), 448, "# header")
    assert block.startswith(bench_report.BEGIN) and block.rstrip().endswith(bench_report.END)
    headings = ("| N = 2,000 |", "| N = 10,000 |", "### Performance goals", "### Admission",
                "### Capacity model")
    for heading in headings:
        assert heading in block
    assert "need **" in block
