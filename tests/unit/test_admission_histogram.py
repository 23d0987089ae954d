"""The benchmark reads the webhook's latency from the API server's own histogram, not from ours."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "admission_phase.py"


def _phase() -> ModuleType:
    spec = importlib.util.spec_from_file_location("admission_phase", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = "apiserver_admission_webhook_admission_duration_seconds"
LABELS = 'name="declarations.pods.ironflow.io",operation="CREATE",rejected="{rejected}",type="admit"'
METRICS = "\n".join([
    f"# HELP {H} [STABLE] Admission webhook latency in seconds, identified by name",
    f"# TYPE {H} histogram",
    *(f'{H}_bucket{{{LABELS.format(rejected="false")},le="{le}"}} {n}' for le, n in
      (("0.005", 60), ("0.025", 95), ("0.1", 100), ("0.5", 100), ("1", 100), ("2.5", 100), ("10", 100),
       ("25", 100), ("+Inf", 100))),
    f'{H}_sum{{{LABELS.format(rejected="false")}}} 0.9',
    f'{H}_count{{{LABELS.format(rejected="false")}}} 100',
    # a refused pod: another series of the same webhook, summed with the first
    *(f'{H}_bucket{{{LABELS.format(rejected="true")},le="{le}"}} {n}' for le, n in
      (("0.005", 0), ("0.025", 0), ("0.1", 0), ("0.5", 0), ("1", 0), ("2.5", 0), ("10", 0), ("25", 0),
       ("+Inf", 0))),
    # another webhook: ignored
    f'{H}_bucket{{name="other.example.com",operation="CREATE",rejected="false",type="admit",le="0.005"}} 7',
    f'{H}_bucket{{name="other.example.com",operation="CREATE",rejected="false",type="admit",le="+Inf"}} 9',
    'apiserver_request_total{code="201",verb="POST"} 4',
])


def test_given_canned_metrics_when_read_then_count_and_interpolated_quantiles_of_our_webhook() -> None:
    latency = _phase().webhook_latency(METRICS)

    assert latency["count"] == 100
    # rank 50 of 100 falls in (0, 5 ms], which holds 60: 5 ms * 50/60
    assert latency["p50"] == pytest.approx(0.005 * 50 / 60)
    # rank 99 falls in (25, 100 ms], which holds 5 (95 -> 100): 25 + 75 * 4/5 ms
    assert latency["p99"] == pytest.approx(0.025 + 0.075 * 4 / 5)


def test_given_no_series_of_the_webhook_when_read_then_count_zero_and_no_quantiles() -> None:
    latency = _phase().webhook_latency('apiserver_request_total{code="201"} 4\n')

    assert latency["count"] == 0
    assert math.isnan(latency["p50"]) and math.isnan(latency["p99"])


def test_given_everything_beyond_the_last_bound_when_read_then_the_last_finite_bound() -> None:
    text = "\n".join(f'{H}_bucket{{name="declarations.pods.ironflow.io",le="{le}"}} {n}'
                     for le, n in (("0.005", 0), ("25", 0), ("+Inf", 3)))

    assert _phase().webhook_latency(text)["p99"] == 25


def test_given_a_baseline_when_read_then_only_the_calls_since_count() -> None:
    def text(fast: int, slow: int) -> str:
        return "\n".join(f'{H}_bucket{{name="declarations.pods.ironflow.io",le="{le}"}} {n}'
                         for le, n in (("0.005", fast), ("0.025", fast + slow), ("+Inf", fast + slow)))

    latency = _phase().webhook_latency(text(fast=110, slow=90), baseline=text(fast=10, slow=90))

    assert latency["count"] == 100
    assert latency["p99"] == pytest.approx(0.005 * 99 / 100)
