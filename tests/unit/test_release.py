"""`make release` gives the same bytes twice: the archive normalisation (hack/release.py) removes
what the tools stamp from the build (times, owners, entry order, gzip header) and keeps the files."""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack"))

from release import normalised_tar_gz, sha256sums  # noqa: E402

EPOCH = 1_780_000_000


def _tar_gz(entries: list[tuple[str, bytes | None, int]], *, mtime: float, owner: int) -> bytes:
    """What a tool writes: entries in its own order, its clock, its user, a gzip header time."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, owner, owner, "me", "me"
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="build.tar", mode="wb", fileobj=out, mtime=mtime) as zipped:
        zipped.write(raw.getvalue())
    return out.getvalue()


ENTRIES = [("pkg/b.txt", b"bee\n", 0o664), ("pkg", None, 0o775), ("pkg/run.sh", b"#!/bin/sh\n", 0o775)]


def test_given_two_builds_at_other_times_by_other_users_when_normalised_then_bytes_are_equal() -> None:
    first = _tar_gz(ENTRIES, mtime=time.time(), owner=1000)
    second = _tar_gz(list(reversed(ENTRIES)), mtime=time.time() + 3600, owner=0)
    assert first != second
    assert normalised_tar_gz(first, EPOCH) == normalised_tar_gz(second, EPOCH)


def test_given_an_archive_when_normalised_then_files_modes_and_times_are_as_released() -> None:
    normalised = normalised_tar_gz(_tar_gz(ENTRIES, mtime=time.time(), owner=1000), EPOCH)
    assert normalised[4:8] == b"\0\0\0\0", "the gzip header carries a time"
    with tarfile.open(fileobj=io.BytesIO(normalised), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["pkg", "pkg/b.txt", "pkg/run.sh"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(EPOCH, 0, 0, "", "")}
        assert {m.name: oct(m.mode) for m in members} == {
            "pkg": "0o755", "pkg/b.txt": "0o644", "pkg/run.sh": "0o755"}  # fmt: skip
        assert tar.extractfile("pkg/b.txt").read() == b"bee\n"  # type: ignore[union-attr]
        assert tar.extractfile("pkg/run.sh").read() == b"#!/bin/sh\n"  # type: ignore[union-attr]


def test_given_release_files_when_summed_then_sha256sum_format_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.whl").write_bytes(b"wheel")
    (tmp_path / "a.tgz").write_bytes(b"chart")
    (tmp_path / "SHA256SUMS").write_text("stale")
    sums = sha256sums(tmp_path)
    assert sums == (f"{hashlib.sha256(b'chart').hexdigest()}  a.tgz\n"
                    f"{hashlib.sha256(b'wheel').hexdigest()}  b.whl\n")  # fmt: skip
