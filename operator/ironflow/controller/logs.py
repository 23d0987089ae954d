"""Logging setup: text or JSON lines, one level for our code, and a last safety net for values.

The code never logs a value; the safety net is for the day someone does by mistake (or a library
does at DEBUG): every formatted line is scanned for the plaintexts the operator currently holds
(and their base64 forms) and they are replaced. Libraries known to log bodies at DEBUG (the
Kubernetes client) are capped at WARNING whatever the chosen level.

Timestamps are ISO-8601 in UTC (`2026-11-30T23:41:07.123Z`), in both formats, so lines from pods
in different time zones sort and parse alike. kopf's per-event chatter ("Handler ... succeeded",
"... is processed") and its first retries of a request (429 while the CRDs initialise, a
restarting API server) are DEBUG: at INFO an idle operator logs nothing, and a retry that
persists still surfaces, as WARNING and then kopf's own ERROR when it gives up.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

from ironflow.core.log_text import escape_control

LogFormat = Literal["text", "json"]
MIN_REDACT_BYTES = 4
MAX_REMEMBERED = 20000
REDACTED = "[REDACTED]"
_JSON_FIELDS = frozenset({"time", "level", "logger", "message", "exc_info", "stack_info"})
_QUIET = ("kubernetes_asyncio", "kubernetes", "urllib3", "aiohttp.access", "asyncio")


class Redactor:
    """The plaintexts (and their encoded forms) held now, found in a line in one pass.

    Forms are indexed by their first PREFIX characters, so a line costs one dictionary lookup
    per character however many values the operator holds; scanning the line once per remembered
    form made every log line cost O(values), quadratic over a busy namespace. Eviction is least
    recently remembered first, and each reconcile re-remembers the values it holds.
    """

    PREFIX = 4

    def __init__(self) -> None:
        self._needles: dict[str, None] = {}  # insertion order = recency
        self._by_prefix: dict[str, set[str]] = {}
        self._short: set[str] = set()  # forms shorter than PREFIX (multi-byte characters)

    def remember(self, value: bytes) -> None:
        if len(value) < MIN_REDACT_BYTES:
            return
        forms = [base64.b64encode(value).decode("ascii")]
        try:
            text = value.decode("utf-8")
            forms += [text, json.dumps(text)[1:-1]]
        except UnicodeDecodeError:
            pass
        for form in forms:
            if form in self._needles:
                del self._needles[form]  # refreshed: move to the recent end
                self._needles[form] = None
                continue
            self._needles[form] = None
            if len(form) < self.PREFIX:
                self._short.add(form)
            else:
                self._by_prefix.setdefault(form[: self.PREFIX], set()).add(form)
            if len(self._needles) > MAX_REMEMBERED:
                self._forget(next(iter(self._needles)))

    def _forget(self, form: str) -> None:
        del self._needles[form]
        self._short.discard(form)
        bucket = self._by_prefix.get(form[: self.PREFIX])
        if bucket is not None:
            bucket.discard(form)
            if not bucket:
                del self._by_prefix[form[: self.PREFIX]]

    def redact(self, line: str) -> str:
        found = {form for form in self._short if form in line}
        by_prefix, width = self._by_prefix, self.PREFIX
        if by_prefix:
            for i in range(len(line) - width + 1):
                bucket = by_prefix.get(line[i : i + width])
                if bucket:
                    found.update(form for form in bucket if line.startswith(form, i))
        for form in sorted(found, key=len, reverse=True):  # longest first: no half-redacted form
            line = line.replace(form, REDACTED)
        return line


REDACTOR = Redactor()


def iso_utc(created: float) -> str:
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _IsoTime(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_utc(record.created)


# kopf's lines for every handled event, and its start-up steps: nothing happened that the
# operator's own log does not say.
_KOPF_CHATTER = re.compile(
    r"^((Handler|Indexer|Activity) '.*' succeeded|.* is processed: \d+ succeeded; 0 failed"
    r"|Initial authentication has (been initiated|finished))\.$"
)
# "Request attempt #2/10 failed; will retry: ..." (not "escalating": that one is the last attempt).
_KOPF_RETRY = re.compile(r"^Request attempt #(\d+)(/\d+)? failed; will retry")
PERSISTENT_RETRY = 4  # from this attempt on (about 4 s of backoff) a retry is worth a WARNING


def kopf_level(record: logging.LogRecord) -> int:
    """The level a kopf record deserves; the record's own level for anything not recognised."""
    if not record.name.startswith("kopf"):
        return record.levelno
    message = record.getMessage()
    if record.levelno == logging.INFO and _KOPF_CHATTER.match(message):
        return logging.DEBUG
    retry = _KOPF_RETRY.match(message)
    if retry is not None and record.levelno > logging.DEBUG:
        return logging.DEBUG if int(retry.group(1)) < PERSISTENT_RETRY else logging.WARNING
    return record.levelno


class KopfNoise(logging.Filter):
    """Re-levels kopf's records (a handler filter: it sees records propagated from kopf's loggers)."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        level = kopf_level(record)
        if level != record.levelno:
            record.levelno, record.levelname = level, logging.getLevelName(level)
        return level >= self.threshold


class _JsonFormatter(_IsoTime, JsonFormatter):
    """Only our fields: libraries attach arbitrary `extra` objects (kopf: its settings, object refs)
    that must neither break serialisation nor carry anything we did not choose to log."""

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        for key in list(log_record):
            if key not in _JSON_FIELDS:
                del log_record[key]
        ref = getattr(record, "k8s_ref", None)
        if isinstance(ref, dict) and ref.get("name"):
            log_record["object"] = "/".join(str(ref[k]) for k in ("namespace", "name") if ref.get(k))


class RedactingFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return REDACTOR.redact(self._inner.format(_one_line(record)))


def _one_line(record: logging.LogRecord) -> logging.LogRecord:
    """A copy whose message cannot break the line (core/log_text.py); tracebacks stay as they are.

    Redacted before it is escaped: a value with a control character would no longer match its
    remembered forms once escaped."""
    message = record.getMessage()
    if escape_control(message) == message:
        return record
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg, copy.args = escape_control(REDACTOR.redact(message)), None
    return copy


def configure(fmt: LogFormat, level: str) -> None:
    inner: logging.Formatter
    if fmt == "json":
        inner = _JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                               rename_fields={"levelname": "level", "asctime": "time", "name": "logger"})
    else:
        inner = _IsoTime("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(inner))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    handler.addFilter(KopfNoise(root.level))
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
