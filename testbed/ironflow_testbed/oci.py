"""OCI image archives written from local files: the node's images, since no registry is reachable.

An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`) packed in one tar file is
what `ctr images import` reads. Everything is deterministic (fixed mtimes, root owner, sorted
entries, uncompressed layers), so the same files always give the same digests: a unit test pins
them, and a re-import of an unchanged image is a no-op for containerd.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
# containerd names an imported image after this annotation (else it invents a prefix).
CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"
EPOCH = 0  # every mtime in every tar: the contents alone decide the digests


@dataclass(frozen=True)
class Entry:
    """One file system entry of a layer: a regular file (data), a directory or a symlink (target)."""

    path: str
    data: bytes | None = None
    mode: int = 0o755
    symlink: str | None = None


@dataclass(frozen=True)
class Image:
    """A single-layer linux/amd64 image: what the node's sandboxes and test pods need."""

    name: str
    entries: Sequence[Entry]
    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Sequence[str] = ("PATH=/bin",)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Written:
    """Where an archive went and the digests that identify it."""

    path: Path
    manifest_digest: str
    config_digest: str
    layer_digest: str


def _tar(members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _info(path: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "root", "root"
    return info


def layer_tar(entries: Sequence[Entry]) -> bytes:
    """The layer: parent directories implied by paths are added, everything sorted by path."""
    members: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}
    for entry in entries:
        parts = entry.path.strip("/").split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            members.setdefault(parent, (_info(parent, tarfile.DIRTYPE, 0o755), None))
        path = "/".join(parts)
        if entry.symlink is not None:
            members[path] = (_info(path, tarfile.SYMTYPE, 0o777, link=entry.symlink), None)
        elif entry.data is None:
            members[path] = (_info(path, tarfile.DIRTYPE, entry.mode), None)
        else:
            members[path] = (_info(path, tarfile.REGTYPE, entry.mode, len(entry.data)), entry.data)
    return _tar([members[path] for path in sorted(members)])


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(media_type: str, data: bytes, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"mediaType": media_type, "digest": _digest(data), "size": len(data)}
    if annotations:
        descriptor["annotations"] = dict(annotations)
    return descriptor


def _config(image: Image) -> dict[str, Any]:
    config: dict[str, Any] = {"Env": list(image.env), "WorkingDir": "/"}
    if image.entrypoint:
        config["Entrypoint"] = list(image.entrypoint)
    if image.cmd:
        config["Cmd"] = list(image.cmd)
    if image.labels:
        config["Labels"] = dict(image.labels)
    return config


def archive(image: Image) -> tuple[bytes, Written]:
    """The archive's bytes and its digests (path left empty: see `write`)."""
    layer = layer_tar(image.entries)
    config = _json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": _config(image),
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
            # The writer's name when the digests were pinned (before the test bed left the ironflow
            # package): kept, so the node's images keep their bytes and need no re-import.
            "history": [{"created_by": "ironflow.envtest.oci", "created": "1970-01-01T00:00:00Z"}],
            "created": "1970-01-01T00:00:00Z",
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": _descriptor(MEDIA_CONFIG, config),
            "layers": [_descriptor(MEDIA_LAYER, layer)],
        }
    )
    tag = image.name.rsplit(":", 1)[1] if ":" in image.name.rsplit("/", 1)[-1] else "latest"
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [
                _descriptor(MEDIA_MANIFEST, manifest, {CONTAINERD_NAME: image.name, OCI_REF_NAME: tag})
            ],
        }
    )
    blobs = {_digest(blob).removeprefix("sha256:"): blob for blob in (layer, config, manifest)}
    files: list[tuple[str, bytes | None]] = [
        ("blobs", None),
        ("blobs/sha256", None),
        *[(f"blobs/sha256/{hexdigest}", blobs[hexdigest]) for hexdigest in sorted(blobs)],
        ("index.json", index),
        ("oci-layout", _json({"imageLayoutVersion": "1.0.0"})),
    ]
    members = [
        (_info(name, tarfile.DIRTYPE, 0o755), None)
        if data is None
        else (_info(name, tarfile.REGTYPE, 0o644, len(data)), data)
        for name, data in files
    ]
    written = Written(Path(), _digest(manifest), _digest(config), _digest(layer))
    return _tar(members), written


def write(image: Image, path: Path) -> Written:
    """Write the archive to `path` (atomically) and return its digests."""
    data, written = archive(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return Written(path, written.manifest_digest, written.config_digest, written.layer_digest)
