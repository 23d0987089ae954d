"""The credential each request carries, fetched once and cached the way client-go caches it.

- A token file (kubeconfig `tokenFile`, the in-cluster service-account token, which the kubelet
  rotates) is read off the event loop and kept for TOKEN_FILE_SECONDS, then read again; a 401
  answered to its token reads it again at once.
- An exec plugin (k8s/exec_plugin.py) runs once; its credential is kept until shortly before the
  expiry it states (none: until a 401), then the plugin runs again. A 401 answered to a
  credential runs the plugin again, once, however many requests saw that 401 at the same time.
- A fixed token, basic credentials or a client certificate of the kubeconfig never change.

`Identity` is the unit callers hold: invalidating one that was already replaced is a no-op, so
concurrent 401s (ours and kopf's) lead to one refresh.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ironflow.k8s import exec_plugin
from ironflow.k8s.kubeconfig import Endpoint, KubeconfigError

TOKEN_FILE_SECONDS = 60.0  # as client-go's cached token source
REFRESH_MARGIN_SECONDS = 30.0  # an expiring credential is replaced this long (at most) before it lapses


@dataclass(frozen=True, repr=False, eq=False)
class Identity:
    """One credential as fetched; `certificate`/`key` only when it is a client certificate from a plugin."""

    token: str | None = None
    certificate: bytes | None = None
    key: bytes | None = None
    basic: tuple[str, str] | None = None
    refresh_at: float | None = None  # wall-clock seconds after which it is fetched again

    def authorization(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.basic:
            pair = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        return {}

    def __repr__(self) -> str:  # never a token or key in a traceback or log line
        return "Identity()"


def refresh_time(now: float, expires: float | None) -> float | None:
    """Shortly before `expires`: a tenth of the remaining lifetime, at most REFRESH_MARGIN_SECONDS,
    and not sooner than one second from now (a plugin stating a past expiry is not run in a loop)."""
    if expires is None:
        return None
    margin = min(REFRESH_MARGIN_SECONDS, max(0.0, expires - now) / 10)
    return max(expires - margin, now + 1.0)


class CredentialSource:
    def __init__(self, endpoint: Endpoint, clock: Callable[[], float] = time.time) -> None:
        self._endpoint = endpoint
        self._clock = clock
        self._cached: Identity | None = None
        self._lock = asyncio.Lock()
        self.exec_runs = 0

    @property
    def refreshable(self) -> bool:
        return self._endpoint.exec is not None or self._endpoint.token_file is not None

    async def current(self) -> Identity:
        cached = self._cached
        if cached is not None and not self._stale(cached):
            return cached
        async with self._lock:  # one fetch, however many requests are waiting for it
            cached = self._cached
            if cached is None or self._stale(cached):
                cached = self._cached = await self._fetch()
            return cached

    def invalidate(self, identity: Identity) -> bool:
        """After a 401 answered to `identity`: True when asking again may give another credential."""
        if not self.refreshable:
            return False
        if self._cached is identity:
            self._cached = None
        return True

    def _stale(self, identity: Identity) -> bool:
        return identity.refresh_at is not None and self._clock() >= identity.refresh_at

    async def _fetch(self) -> Identity:
        e = self._endpoint
        basic = (e.username, e.password) if e.username is not None and e.password is not None else None
        if e.exec is not None:
            self.exec_runs += 1
            result = await exec_plugin.run(e.exec)
            expires = result.expires.timestamp() if result.expires else None
            return Identity(token=result.token, certificate=result.certificate, key=result.key,
                            refresh_at=refresh_time(self._clock(), expires))
        if e.token_file is not None:
            token = await asyncio.to_thread(_read_token, e.token_file)
            return Identity(token=token, basic=basic, refresh_at=self._clock() + TOKEN_FILE_SECONDS)
        return Identity(token=e.token, basic=basic)


def _read_token(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise KubeconfigError(f"token file {path} cannot be read: {reason}") from None
