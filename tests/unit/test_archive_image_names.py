"""The names `import-image` reports come from the archive itself (ctr's wording differs by version)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from ironflow_testbed.nodeimages import archive_image_names


def _archive(path: Path, files: dict[str, object]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_given_an_oci_layout_with_a_full_reference_when_read_then_that_is_the_name(tmp_path: Path) -> None:
    index = {"manifests": [
        {"annotations": {"org.opencontainers.image.ref.name": "ghcr.io/ironflow/ironflow-operator:0.2.0"}},
        {"annotations": {"org.opencontainers.image.ref.name": "latest"}},  # a bare tag names nothing
    ]}
    archive = _archive(tmp_path / "image.oci.tar", {"./index.json": index, "./oci-layout": {}})
    assert archive_image_names(archive) == ["ghcr.io/ironflow/ironflow-operator:0.2.0"]


def test_given_a_docker_archive_when_read_then_its_repo_tags_are_the_names(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "image.tar", {"manifest.json": [{"RepoTags": ["example.invalid/a:1"]}]})
    assert archive_image_names(archive) == ["example.invalid/a:1"]
