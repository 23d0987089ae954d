"""/metrics carries process metrics and no `_created` series; log lines carry ISO-8601 UTC times and
kopf's per-event chatter and first retries stay below INFO."""

from __future__ import annotations

import io
import json
import logging
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ironflow import metrics
from ironflow.controller import logs
from ironflow.core.model import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_given_exposition_when_scraped_then_process_metrics_and_no_created_series() -> None:
    metrics.UNSEAL.labels(outcome="Unsealed").inc()
    metrics.RECONCILE.labels(kind="IronflowSecret").observe(0.01)
    text = metrics.exposition().decode()
    for family in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"):
        assert f"\n{family} " in text, family
    assert "_created" not in text


def test_given_pyproject_when_read_then_distribution_is_ironflow_operator_with_the_three_commands() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "ironflow-operator"
    assert set(project["scripts"]) == {"ironflow", "kubectl-ironflow", "ironflow-operator"}


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def _configure(stream: io.StringIO, fmt: logs.LogFormat, level: str) -> None:
    logs.configure(fmt, level)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def test_given_json_logs_when_a_line_is_written_then_time_is_iso8601_utc(captured: io.StringIO) -> None:
    _configure(captured, "json", "info")
    logging.getLogger("ironflow.test").info("hello")
    record = json.loads(captured.getvalue().splitlines()[-1])
    assert ISO_UTC.match(record["time"]), record["time"]


def test_given_text_logs_when_a_line_is_written_then_it_starts_iso8601_utc(captured: io.StringIO) -> None:
    _configure(captured, "text", "info")
    logging.getLogger("ironflow.test").info("hello")
    assert ISO_UTC.match(captured.getvalue().split(" ", 1)[0])


def test_given_info_level_when_kopf_reports_each_event_then_nothing_is_logged(captured: io.StringIO) -> None:
    _configure(captured, "text", "info")
    kopf = logging.getLogger("kopf.objects")
    kopf.info("Handler 'on_secret' succeeded.")
    kopf.info("Indexer 'projected_secret_seen' succeeded.")  # once per projected object and event
    kopf.info("Creation is processed: 1 succeeded; 0 failed.")
    logging.getLogger("kopf.activities.startup").info("Activity 'start_pod_webhook' succeeded.")
    logging.getLogger("kopf._core.engines.activities").info("Initial authentication has finished.")
    kopf.info("Handler 'on_secret' failed permanently.")  # not chatter: kept
    assert "succeeded" not in captured.getvalue() and "authentication" not in captured.getvalue()
    assert "failed permanently" in captured.getvalue()


def test_given_info_level_when_kopf_retries_then_first_attempts_hidden_and_persisting_ones_warned(
    captured: io.StringIO,
) -> None:
    _configure(captured, "text", "info")
    api = logging.getLogger("kopf._cogs.clients.api")
    api.error("Request attempt #1/10 failed; will retry: GET /apis/ironflow.io -> APIError('429')")
    api.error("Request attempt #3/10 failed; will retry: GET /apis/ironflow.io -> APIError('429')")
    api.error("Request attempt #5/10 failed; will retry: GET /apis/ironflow.io -> APIError('429')")
    api.error("Request attempt #10/10 failed; escalating: GET /apis/ironflow.io -> APIError('429')")
    lines = captured.getvalue().splitlines()
    assert not any("#1/10" in line or "#3/10" in line for line in lines)
    assert any("WARNING" in line and "#5/10" in line for line in lines)
    assert any("ERROR" in line and "escalating" in line for line in lines)


def test_given_debug_level_when_kopf_reports_each_event_then_logged_as_debug(captured: io.StringIO) -> None:
    _configure(captured, "text", "debug")
    logging.getLogger("kopf.objects").info("Handler 'on_secret' succeeded.")
    assert "DEBUG" in captured.getvalue() and "succeeded" in captured.getvalue()
