"""`make release`: every artifact of this commit's release in one folder, twice the same bytes.

dist/release-<version>/ gets the wheel and sdist, the packaged chart, the image archive, SBOMs
(CycloneDX JSON) of the wheel and of the image, and SHA256SUMS. Everything is built from `git
archive HEAD` (what is committed, never the work tree), with SOURCE_DATE_EPOCH the commit's time:

- wheel: setuptools writes zip entries in name order with SOURCE_DATE_EPOCH times already;
- sdist and chart: tar.gz files whose tools stamp the build time (entries, gzip header), so they
  are rewritten by normalised_tar_gz: names sorted, one mtime, owner 0, modes 0644/0755, gzip mtime 0;
- image: hack/build-image.sh (reproducible itself: see its header);
- SBOMs: the wheel's from its locked requirements (cyclonedx-py requirements); the image's from
  what the archive holds: its Debian packages from /var/lib/dpkg/status (debsbom) and its Python
  packages from the installed dist-info (cyclonedx-py environment); serial numbers and times fixed.

Usage: hack/release.py --tools PYTHON --helm HELM [--out-dir dist] (the Makefile passes both).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = "usr/lib/python3/dist-packages/"
DPKG_STATUS = "var/lib/dpkg/status"
# Names the SBOM serial numbers are derived from (uuid5), so they are stable per artifact digest.
SBOM_NAMESPACE = uuid.UUID("6f0b6c1e-5d0a-4a57-9a53-1e6b0c3f1f19")


def normalised_tar_gz(data: bytes, epoch: int) -> bytes:
    """The same files, with nothing of the build's time or machine left: entries sorted by name,
    every mtime `epoch`, owner and group 0 without names, modes 0644 (0755 if executable or a
    directory), a gzip header without a name or a time."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as source:
        members = sorted(source.getmembers(), key=lambda m: m.name)
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as target,
        ):
            for member in members:
                info = copy.copy(member)
                info.mtime = epoch
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.pax_headers = {}
                info.mode = 0o755 if member.isdir() or member.mode & 0o111 else 0o644
                target.addfile(info, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def sha256sums(directory: Path) -> str:
    """`sha256sum`'s format (two spaces), files in name order: `sha256sum -c SHA256SUMS` checks it."""
    lines = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.name != "SHA256SUMS"):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    return "".join(lines)


def image_files(archive: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """Files of the image's root file system (all layers, later ones win) whose path `wanted`."""
    found: dict[str, bytes] = {}
    with tarfile.open(archive) as layout:

        def blob(digest: str) -> bytes:
            handle = layout.extractfile("./blobs/" + digest.replace(":", "/"))
            assert handle is not None, digest
            return handle.read()

        index = json.loads(layout.extractfile("./index.json").read())  # type: ignore[union-attr]
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        for layer in manifest["layers"]:
            with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"])), mode="r:*") as rootfs:
                for member in rootfs:
                    name = member.name.lstrip("./")
                    if member.isfile() and wanted(name):
                        handle = rootfs.extractfile(member)
                        assert handle is not None
                        found[name] = handle.read()
    return found


def _run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    print("[release] $", " ".join(argv), file=sys.stderr, flush=True)
    result = subprocess.run(argv, cwd=cwd, env=env, check=False, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"[release] failed ({result.returncode}): {' '.join(argv)}")
    return result.stdout


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def _sbom_python_environment(tools: Path, site: Path, env_dir: Path, out: Path, env: dict[str, str]) -> None:
    """cyclonedx-py reads an interpreter's environment: a bare venv whose only path entry beyond
    the standard library is the image's site directory (a .pth file), so it lists exactly the
    image's dist-info, no host package."""
    _run([str(tools), "-m", "venv", "--without-pip", str(env_dir)], env=env)
    [venv_site] = env_dir.glob("lib/python3.*/site-packages")
    (venv_site / "image-site.pth").write_text(f"{site}\n")
    _run([str(tools.parent / "cyclonedx-py"), "environment", "--output-reproducible", "--of", "JSON",
          "-o", str(out), str(env_dir)], env=env)  # fmt: skip


def build(tools: Path, helm: Path, out_root: Path) -> Path:
    begin = time.monotonic()
    commit = _git("rev-parse", "HEAD").strip()
    epoch = int(_git("log", "-1", "--format=%ct", commit).strip())
    if _git("status", "--porcelain", "--untracked-files=no").strip():
        print("[release] WARNING: uncommitted changes are not part of the release (built from HEAD)",
              file=sys.stderr)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
    env |= {"SOURCE_DATE_EPOCH": str(epoch), "PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="ironflow-release-") as tmp:
        work = Path(tmp)
        src = work / "src"
        src.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                                 check=True, capture_output=True).stdout  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
            tree.extractall(src, filter="data")
        version = tomllib.loads((src / "pyproject.toml").read_text())["project"]["version"]
        out = out_root / f"release-{version}"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)

        # wheel and sdist, by the pinned build backend (no isolation: no unpinned download)
        dist = work / "dist"
        _run([str(tools), "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(dist),
              str(src)], env=env)  # fmt: skip
        [wheel] = dist.glob("*.whl")
        [sdist] = dist.glob("*.tar.gz")
        shutil.copy(wheel, out / wheel.name)
        (out / sdist.name).write_bytes(normalised_tar_gz(sdist.read_bytes(), epoch))

        # the chart, packaged by helm, its time stamps normalised
        charts = work / "chart"
        _run([str(helm), "package", str(src / "charts" / "ironflow"), "--destination", str(charts)], env=env)
        [chart] = charts.glob("*.tgz")
        (out / chart.name).write_bytes(normalised_tar_gz(chart.read_bytes(), epoch))

        # the image, by the committed tree's own build script
        image = out / f"ironflow-operator-{version}.oci.tar"
        image_env = env | {"PYTHON": sys.executable}
        _run([str(src / "hack" / "build-image.sh"), str(image)], cwd=src, env=image_env)

        # SBOMs
        _run([str(tools.parent / "cyclonedx-py"), "requirements", "--output-reproducible", "--of", "JSON",
              "--pyproject", str(src / "pyproject.toml"), "-o", str(out / f"{wheel.name}.cdx.json"),
              str(src / "requirements" / "operator.lock")], env=env)  # fmt: skip
        rootfs = work / "image-rootfs"
        for name, data in image_files(
            image, lambda n: n == DPKG_STATUS or (n.startswith(SITE) and ".dist-info/" in n)
        ).items():
            (rootfs / name).parent.mkdir(parents=True, exist_ok=True)
            (rootfs / name).write_bytes(data)
        digest = hashlib.sha256(image.read_bytes()).hexdigest()
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
        debian_sbom = out / f"{image.name}.debian.cdx.json"
        _run([str(tools.parent / "debsbom"), "generate", "--root", str(rootfs), "--sbom-type", "cdx",
              "--distro-name", "ironflow-operator-image", "--distro-version", version,
              "--cdx-serialnumber", str(uuid.uuid5(SBOM_NAMESPACE, f"{digest}/debian")),
              "--timestamp", created, "--out", str(debian_sbom)],
             env=env)  # fmt: skip
        python_sbom = out / f"{image.name}.python.cdx.json"
        _sbom_python_environment(tools, rootfs / SITE, work / "image-env", python_sbom, env)

        (out / "SHA256SUMS").write_text(sha256sums(out))
    took = time.monotonic() - begin
    print(f"[release] {version} from {commit[:12]} in {took:.0f}s: {out}", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--tools", type=Path, required=True, help="python of the venv with the release tools")
    parser.add_argument("--helm", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    out = build(args.tools, args.helm, args.out_dir.resolve())
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
