"""Waiting on conditions with deadlines, never on fixed sleeps.

Probes use the standard library over loopback with the control plane's own CA and admin client
certificate, so readiness does not depend on any kubeconfig outside the cluster directory.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ComponentFailed(RuntimeError):
    """A component exited or never became ready; the message carries the tail of its log."""


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    watch: Sequence[tuple[subprocess.Popen[bytes] | None, Path]] = (),
    interval: float = 0.1,
) -> float:
    """Poll `condition` until true; fail early if a watched process exits. Returns seconds waited."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        for proc, log in watch:
            if proc is not None and proc.poll() is not None:
                raise ComponentFailed(
                    f"{what}: process exited with {proc.returncode}; {log}:\n{log_tail(log)}"
                )
        if condition():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            tails = "\n".join(f"--- {log}:\n{log_tail(log)}" for _, log in watch)
            raise ComponentFailed(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")
        time.sleep(interval)


def eventually(condition: Callable[[], T | None], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll `condition()` until it returns something truthy and return that; tests use this, never sleeps."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


class Prober:
    """HTTPS GETs against loopback endpoints of the control plane."""

    def __init__(self, ca_file: Path, cert_file: Path | None = None, key_file: Path | None = None) -> None:
        context = ssl.create_default_context(cafile=str(ca_file))
        if cert_file is not None and key_file is not None:
            context.load_cert_chain(str(cert_file), str(key_file))
        # No proxy handler: loopback probes must never be routed through an HTTP(S)_PROXY.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )

    def status(self, url: str, timeout: float = 2.0) -> int:
        """HTTP status of `url`, or 0 when nothing (valid) answers yet."""
        try:
            with self._opener.open(url, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (OSError, ssl.SSLError):
            return 0

    def ok(self, url: str) -> bool:
        return self.status(url) == 200

    def get_json(self, url: str, timeout: float = 5.0) -> Any:
        with self._opener.open(url, timeout=timeout) as response:
            return json.load(response)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Plain-HTTP probe (etcd on loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.HTTPError):
        return False
