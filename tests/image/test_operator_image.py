"""The operator image as `make image` writes it: what a cluster would run, checked from the archive.

Why from the archive and not from a registry: the node here imports exactly this file, so the
facts that matter (user, entry point, name containerd gives it, what is inside) are read here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.image

ARCHIVE = Path(os.environ.get("IRONFLOW_IMAGE_ARCHIVE", ""))
IMAGE = os.environ.get("IRONFLOW_IMAGE", "")
# Compressed size bound: the build measures ~35 MiB; a compiler, pip or a Kubernetes client would
# push it toward or past this (the contents tests name each directly).
MAX_ARCHIVE_MIB = 80
UNSHARE = shutil.which("unshare", path="/usr/bin:/bin") or "/usr/bin/unshare"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert ARCHIVE.is_file(), "run through `make image-test` (it builds the image and names it)"
    out = tmp_path_factory.mktemp("layout")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(out, filter="data")
    return out


def _blob(layout: Path, digest: str) -> bytes:
    algo, hexdigest = digest.split(":")
    data = (layout / "blobs" / algo / hexdigest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hexdigest, f"blob {digest} does not match its digest"
    return data


def _manifest(layout: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    manifest = json.loads(_blob(layout, entry["digest"]))
    return entry, manifest


@pytest.fixture(scope="module")
def rootfs(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, manifest = _manifest(layout)
    root = tmp_path_factory.mktemp("rootfs")
    for layer in manifest["layers"]:
        data = gzip.decompress(_blob(layout, layer["digest"]))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(root, filter="fully_trusted")
    return root


def test_given_the_archive_when_containerd_imports_it_then_it_is_named_as_the_chart_expects(
    layout: Path,
) -> None:
    entry, manifest = _manifest(layout)
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == IMAGE
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert ARCHIVE.stat().st_size < MAX_ARCHIVE_MIB * 2**20


def test_given_the_config_when_run_then_it_is_non_root_with_the_operator_as_entry_point(layout: Path) -> None:
    _, manifest = _manifest(layout)
    config = json.loads(_blob(layout, manifest["config"]["digest"]))
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    assert config["config"]["User"] == "65532:65532"
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/ironflow-operator"]
    assert config["config"]["Cmd"] == ["--in-cluster"]
    assert "PYTHONDONTWRITEBYTECODE=1" in config["config"]["Env"]


def test_given_the_rootfs_when_listed_then_it_holds_no_compiler_package_manager_or_shell(
    rootfs: Path,
) -> None:
    for tool in ("gcc", "cc", "pip", "pip3", "apt", "apt-get", "dpkg", "bash", "curl", "wget"):
        for directory in ("usr/bin", "usr/sbin", "usr/local/bin", "bin", "sbin"):
            assert not (rootfs / directory / tool).exists(), f"{directory}/{tool} is in the image"
    site = rootfs / "usr/lib/python3/dist-packages"
    assert not (site / "pip").exists()
    assert not (site / "kubernetes" / "aio").exists()
    assert (rootfs / "usr/share/ironflow/packages.txt").read_text().strip(), (
        "the Debian package list is empty"
    )


def test_given_the_rootfs_when_listed_then_it_holds_the_operator_and_neither_test_bed_nor_cli_client(
    rootfs: Path,
) -> None:
    """The product ships only the product: the test bed is its own distribution, and the CLI with
    its Kubernetes client (the `cli` extra) runs on workstations, not in the operator's pods."""
    site = rootfs / "usr/lib/python3/dist-packages"
    assert (site / "ironflow" / "controller" / "entry.py").is_file()
    assert sorted(p.name for p in site.iterdir() if "testbed" in p.name or "envtest" in p.name) == []
    assert list((site / "ironflow").rglob("envtest")) == []
    assert not (site / "kubernetes").exists() and not (site / "urllib3").exists()
    assert sorted(p.name for p in (rootfs / "usr/local/bin").iterdir()) == ["ironflow-operator"]


def test_given_the_rootfs_when_scanned_then_dpkg_status_lists_every_debian_package(rootfs: Path) -> None:
    """Scanners and the release's SBOM (debsbom) read /var/lib/dpkg/status; the extract-only build
    writes it from the packages themselves, so it must name exactly the packages that went in."""
    status = (rootfs / "var/lib/dpkg/status").read_text()
    paragraphs = [p for p in status.split("\n\n") if p.strip()]
    listed = {}
    for paragraph in paragraphs:
        lines = [line for line in paragraph.splitlines() if ": " in line and line[0] != " "]
        fields = dict(line.split(": ", 1) for line in lines)
        assert fields["Status"] == "install ok installed", paragraph[:200]
        listed[fields["Package"]] = fields["Version"]
    packages = (rootfs / "usr/share/ironflow/packages.txt").read_text().splitlines()
    extracted = dict(line.split(" ", 1) for line in packages if line)
    assert {"python3.11-minimal", "libpython3.11-stdlib", "libc6"} <= set(listed)
    assert set(listed) == set(extracted)


def test_given_the_lock_when_the_image_was_built_then_it_holds_exactly_the_pinned_versions(
    rootfs: Path,
) -> None:
    lock = Path(__file__).resolve().parents[2] / "requirements" / "operator.lock"
    pinned = {
        line.split("==")[0].lower(): line.split("==")[1].split()[0]
        for line in lock.read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    installed = {
        name.replace("_", "-"): version
        for name, version in (
            line.lower().split("==")
            for line in (rootfs / "usr/share/ironflow/python-packages.txt").read_text().split()
        )
    }
    installed.pop("ironflow", None)
    installed.pop("ironflow-operator", None)
    assert installed == pinned


def test_given_the_rootfs_when_the_operator_starts_as_65532_then_it_runs_from_a_read_only_tree(
    rootfs: Path,
) -> None:
    # A private mount namespace with the root file system bound read-only, then chroot as the
    # image's user: what the kubelet does with readOnlyRootFilesystem and runAsUser 65532.
    script = (
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
        'exec chroot --userspec=65532:65532 "$1" /usr/local/bin/ironflow-operator --help'
    )
    env = {"PATH": "/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [UNSHARE, "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(rootfs)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--in-cluster" in result.stdout
    stale = [
        p
        for p in (rootfs / "usr/lib/python3/dist-packages/ironflow").rglob("*.py")
        if not list(p.parent.glob(f"__pycache__/{p.stem}.cpython-311*.pyc"))
    ]
    assert stale == [], f"modules without byte code (a read-only root recompiles them at each start): {stale}"
