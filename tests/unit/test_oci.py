"""OCI archives for the node: deterministic digests, a layout `ctr images import` can read."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from ironflow_testbed import oci
from ironflow_testbed.nodeimages import busybox_image, pause_image

IMAGE = oci.Image(
    "ironflow.invalid/test:1",
    [
        oci.Entry("/bin/tool", b"#!tool\n", mode=0o755),
        oci.Entry("/bin/alias", symlink="tool"),
        oci.Entry("/tmp"),
    ],
    entrypoint=("/bin/tool",),
)
# Pinned: a change here means every machine re-imports different bytes; it must be on purpose.
MANIFEST = "sha256:3f961e0c7758314bf6f49b69999188301ac4a1952764602f8940d16e828b7a16"
CONFIG = "sha256:7353b12e48f6ae216bf263636c0d7942e8664bc30ba52c50c45f0e9f84032d94"
LAYER = "sha256:9a9aec025901158a4cab1216c6395a5b772538b47247eaf80d0018d9a03a8894"


def _members(data: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name: (m, tar.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_given_fixed_files_when_archived_then_digests_are_pinned_and_repeatable() -> None:
    first, written = oci.archive(IMAGE)
    second, _ = oci.archive(IMAGE)
    assert first == second
    assert (written.manifest_digest, written.config_digest, written.layer_digest) == (MANIFEST, CONFIG, LAYER)


def test_given_an_archive_when_read_then_index_manifest_config_and_layer_hang_together() -> None:
    data, written = oci.archive(IMAGE)
    files = _members(data)
    assert json.loads(files["oci-layout"][1] or b"") == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"][1] or b"")
    (descriptor,) = index["manifests"]
    assert descriptor["digest"] == written.manifest_digest
    assert descriptor["annotations"]["io.containerd.image.name"] == "ironflow.invalid/test:1"
    blobs = {
        name.rsplit("/", 1)[1]: blob for name, (_, blob) in files.items() if name.startswith("blobs/sha256/")
    }
    for hexdigest, blob in blobs.items():
        assert blob is not None and hashlib.sha256(blob).hexdigest() == hexdigest
    manifest = json.loads(blobs[written.manifest_digest.removeprefix("sha256:")])
    config = json.loads(blobs[manifest["config"]["digest"].removeprefix("sha256:")])
    assert config["rootfs"]["diff_ids"] == [written.layer_digest]
    assert (config["os"], config["architecture"], config["config"]["Entrypoint"]) == (
        "linux",
        "amd64",
        ["/bin/tool"],
    )
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m, _ in files.values())


def test_given_entries_when_layer_built_then_parents_added_sorted_with_fixed_owner_and_time() -> None:
    layer = _members(oci.layer_tar(IMAGE.entries))
    assert list(layer) == ["bin", "bin/alias", "bin/tool", "tmp"]
    assert layer["bin/alias"][0].issym() and layer["bin/alias"][0].linkname == "tool"
    assert layer["bin/tool"][1] == b"#!tool\n" and layer["bin/tool"][0].mode == 0o755
    assert all(m.mtime == 0 and m.uname == "root" for m, _ in layer.values())


def test_given_a_path_when_written_then_file_holds_the_archive(tmp_path: Path) -> None:
    written = oci.write(IMAGE, tmp_path / "images" / "test.tar")
    assert written.path.read_bytes() == oci.archive(IMAGE)[0]
    assert written.manifest_digest == MANIFEST


def test_given_busybox_bytes_when_node_images_built_then_pause_sleeps_and_busybox_has_applet_links() -> None:
    pause = pause_image(b"busybox")
    assert pause.entrypoint == ("/bin/busybox", "sleep", "inf")
    image = busybox_image(b"busybox", ["env", "cat", "busybox", "env"])
    links = {e.path: e.symlink for e in image.entries if e.symlink}
    assert links == {"/bin/cat": "busybox", "/bin/env": "busybox"}
