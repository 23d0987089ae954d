"""Private keys are owner-only from their first byte: never written wider and tightened after.

Each test runs under the usual umask 0o022, where a file written plainly is 0644. The watch
records the mode of every file at each chmod and rename the code makes (the moments a
write-then-tighten or a write-then-move would show a wider key), and the final modes.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ironflow.webhook.certs import CertPaths, ensure_certificates
from ironflow.webhook.secret_certs import SecretCerts
from ironflow_testbed.pki import CertificateAuthority

Seen = list[tuple[str, int]]
CERTS = SecretCerts("ops", "ironflow-webhook-tls", "ironflow-pod-declarations", ("ironflow-webhook.ops.svc",))


class FakeKube:
    """The certificate Secret by path: created once by the leader, read by every replica."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    async def get(self, path: str) -> dict[str, Any] | None:
        return self.objects.get(path)

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.objects[f"{path}/{body['metadata']['name']}"] = body
        return body


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Seen]:
    """(file name, mode) of the file each os.chmod / os.replace is about to act on."""
    modes: Seen = []
    chmod, replace = os.chmod, os.replace

    def note(path: Any) -> None:
        if isinstance(path, str | os.PathLike) and os.path.isfile(path):
            modes.append((os.path.basename(os.fspath(path)), stat.S_IMODE(os.stat(path).st_mode)))

    def watched_chmod(path: Any, mode: int, *args: Any, **kwargs: Any) -> None:
        note(path)
        chmod(path, mode, *args, **kwargs)

    def watched_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        note(src)
        replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", watched_chmod)
    monkeypatch.setattr(os, "replace", watched_replace)
    previous = os.umask(0o022)
    try:
        yield modes
    finally:
        os.umask(previous)


def _keys(seen: Seen) -> list[int]:
    modes = [mode for name, mode in seen if ".key" in name]
    assert modes, "the watch saw no key file being written"
    return modes


def test_given_umask_022_when_a_replica_copies_the_pair_then_tls_key_never_wider_than_0600(
    tmp_path: Path, seen: Seen
) -> None:
    kube = FakeKube()
    certs = CERTS
    asyncio.run(certs.ensure(kube, tmp_path / "work"))  # type: ignore[arg-type]
    seen.clear()
    assert asyncio.run(certs.serve_from_secret(kube, tmp_path / "serve")) is True  # type: ignore[arg-type]
    assert all(mode & 0o077 == 0 for mode in _keys(seen)), seen
    assert stat.S_IMODE((tmp_path / "serve" / "tls.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "serve" / "tls.crt").stat().st_mode) == 0o644


def test_given_stale_wide_temporary_file_when_certificates_are_made_then_keys_are_0600(
    tmp_path: Path, seen: Seen
) -> None:
    paths = CertPaths(tmp_path / "certs")
    paths.directory.mkdir(mode=0o700)
    for stale in (".tls.key.tmp", ".ca.key.tmp"):  # left behind by a crash, with the umask's 0644
        (paths.directory / stale).write_bytes(b"stale")
        (paths.directory / stale).chmod(0o644)
    seen.clear()
    assert ensure_certificates(paths) is True
    assert all(mode & 0o077 == 0 for mode in _keys(seen)), seen
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.ca_key.stat().st_mode) == 0o600


def test_given_existing_wide_key_file_when_test_bed_writes_a_pair_then_key_is_0600(
    tmp_path: Path, seen: Seen
) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    (pki / "admin.key").write_bytes(b"old")  # a rerun into the same directory
    (pki / "admin.key").chmod(0o644)
    seen.clear()
    _, key = CertificateAuthority.create().issue_client("admin").write(pki, "admin")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert all(mode & 0o077 == 0 for name, mode in seen if ".key" in name), seen
