"""Request data cannot forge log lines or flood the log; per-namespace memory stays bounded."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ironflow.controller import logs
from ironflow.controller.cache import Cache
from ironflow.core.log_text import escape_control
from ironflow.webhook.decision_log import DecisionLog
from ironflow.webhook.lru import LruDict
from ironflow.webhook.reader import CachedEnvironments

FORGED = "dev\n2026-11-30 12:00:00,000 INFO    ironflow.webhook: admitted pod kube-system/evil"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("a\u2028b\u2029c\x85d", "a\\u2028b\\u2029c\\x85d"),
        ("tab\there\x00", "tab\\there\\x00"),
        ("plain ünïcode", "plain ünïcode"),
    ],
)
def test_given_control_characters_when_escaped_then_shown_not_obeyed(text: str, escaped: str) -> None:
    assert escape_control(text) == escaped


@pytest.fixture
def configured_log() -> Iterator[None]:
    """The root logger as it was, after a test configured the operator's logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _configure(fmt: logs.LogFormat, monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)  # in the test: pytest's capture swaps it around fixtures
    logs.configure(fmt, "info")
    return stream


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_given_newline_in_request_data_when_logged_then_one_line_only(
    fmt: logs.LogFormat, configured_log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = _configure(fmt, monkeypatch)
    logging.getLogger("ironflow.webhook").info("refused pod %s: %s", FORGED, "reason\r\nmore")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    if fmt == "json":
        assert "\\n" in json.loads(lines[0])["message"]
    else:
        assert "dev\\n2026-11-30" in lines[0] and "reason\\r\\nmore" in lines[0]


def test_given_value_with_control_character_when_logged_by_mistake_then_still_redacted(
    configured_log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = _configure("text", monkeypatch)
    logs.REDACTOR.remember(b"canary\x1bvalue-77")
    logging.getLogger("ironflow.test").info("oops %s", "canary\x1bvalue-77")
    assert "canary" not in stream.getvalue() and logs.REDACTED in stream.getvalue()


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logger(level: int) -> tuple[logging.Logger, _Records]:
    logger = logging.getLogger(f"ironflow.test.decisions.{level}")
    logger.handlers[:] = [records := _Records()]
    logger.propagate = False
    logger.setLevel(level)
    return logger, records


def test_given_a_flood_of_refusals_when_logged_then_info_is_capped_and_debug_keeps_each() -> None:
    logger, records = _logger(logging.DEBUG)
    clock = _Clock()
    decisions = DecisionLog(logger, per_window=5, window=10.0, clock=clock)
    for i in range(1000):
        decisions.log(logging.INFO, "refused pod %s", f"dev/p{i}")

    infos = [r for r in records.records if r.levelno == logging.INFO]
    assert len(infos) == 5
    assert len([r for r in records.records if r.levelno == logging.DEBUG]) == 995

    clock.now = 11.0
    decisions.log(logging.INFO, "refused pod %s", "dev/next")
    infos = [r.getMessage() for r in records.records if r.levelno == logging.INFO]
    assert infos[-2:] == [
        "995 admission decisions were logged at DEBUG only in the last 11 s (rate limit)",
        "refused pod dev/next",
    ]


def test_given_info_level_when_flooded_then_suppressed_lines_cost_nothing() -> None:
    logger, records = _logger(logging.INFO)
    decisions = DecisionLog(logger, per_window=3, window=10.0, clock=_Clock())
    for _ in range(100):
        decisions.log(logging.INFO, "refused pod %s", "dev/p\nforged")
    assert len(records.records) == 3
    assert all("\n" not in r.getMessage() for r in records.records)


def test_given_lru_when_filled_past_bound_then_oldest_unused_goes() -> None:
    lru: LruDict[str, int] = LruDict(3)
    for i, key in enumerate("abc"):
        lru.put(key, i)
    assert lru.get("a") == 0  # used: now the most recent
    lru.put("d", 3)
    assert len(lru) == 3 and "b" not in lru and "a" in lru


class _Kube:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def request(self, _method: str, path: str, **_: Any) -> dict[str, Any]:
        self.paths.append(path)
        return {"items": []}


def test_given_many_distinct_namespaces_when_read_then_memory_stays_at_the_bound() -> None:
    cache, kube = Cache(), _Kube()
    served = {f"team-{i}" for i in range(50)}
    read = CachedEnvironments(cache, kube, known=served.__contains__, bound=8)  # type: ignore[arg-type]

    async def scenario() -> list[Any]:
        answers = [await read(f"team-{i}") for i in range(50)]
        answers += [await read(f"attacker-{i}") for i in range(5000)]  # valid labels, never served
        return answers

    answers = asyncio.run(scenario())

    assert len(read.derived) == 8
    assert all(a is not None for a in answers[:50]) and all(a is None for a in answers[50:])
    assert not any("attacker" in p for p in kube.paths)  # never listed, never primed
    assert all(cache.revision(f"attacker-{i}") == 0 for i in range(5000))
