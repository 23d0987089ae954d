"""Logging setup: text or JSON lines, one level for our code, and a last safety net for values.

The code never logs a value; the safety net is for the day someone does by mistake (or a library
does at DEBUG): every formatted line is scanned for the plaintexts the operator currently holds
(and their base64 forms) and they are replaced. Libraries known to log bodies at DEBUG (the
Kubernetes client) are capped at WARNING whatever the chosen level.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
MIN_REDACT_BYTES = 4
MAX_REMEMBERED = 20000
REDACTED = "[REDACTED]"
_JSON_FIELDS = frozenset({"time", "level", "logger", "message", "exc_info", "stack_info"})
_QUIET = ("kubernetes_asyncio", "kubernetes", "urllib3", "aiohttp.access", "asyncio")


class Redactor:
    def __init__(self) -> None:
        self._needles: dict[str, None] = {}

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
                continue
            self._needles[form] = None
            if len(self._needles) > MAX_REMEMBERED:
                self._needles.pop(next(iter(self._needles)))

    def redact(self, line: str) -> str:
        for needle in self._needles:
            if needle in line:
                line = line.replace(needle, REDACTED)
        return line


REDACTOR = Redactor()


class _JsonFormatter(JsonFormatter):
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
        return REDACTOR.redact(self._inner.format(record))


def configure(fmt: LogFormat, level: str) -> None:
    inner: logging.Formatter
    if fmt == "json":
        inner = _JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                               rename_fields={"levelname": "level", "asctime": "time", "name": "logger"})
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(inner))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
