#!/usr/bin/env bash
# Builds the operator image as an OCI archive without a Docker engine: the image the Dockerfile
# describes, from the same inputs (Debian bookworm's Python 3.11, the wheels pinned with hashes in
# requirements/operator.lock, which is what the operator imports and no CLI, the ironflow wheel
# built from this tree), with real tools: mmdebstrap extracts the Debian packages, pip installs
# the pinned wheels, umoci writes the image.
#
# Why not Docker: this machine (and CI) has none, and the node runs only images built here.
# Why extract-only: a container needs Python's files, not dpkg's maintainer scripts; nothing in
# the image runs as root or ever installs a package, so no apt, no shell, no compiler, no pip.
#
# Reproducible: every time stamp is SOURCE_DATE_EPOCH (default: the commit time of the tree's HEAD),
# files go into the layer in name order and nothing records a temporary path, so two builds of
# one commit give one digest, as long as the Debian mirror and PyPI serve the same packages
# (`make release` checks the digests; docs/releasing.md).
#
# Usage: hack/build-image.sh [OUT.tar]   (default .build/ironflow-operator-<version>.oci.tar)
# Environment: IRONFLOW_IMAGE (default ghcr.io/ironflow/ironflow-operator:<version>),
#              IRONFLOW_DEBIAN_MIRROR (default http://deb.debian.org/debian), PYTHON (python3.11),
#              SOURCE_DATE_EPOCH (default: HEAD's commit time, else now).
# Prints the archive's path as its last stdout line; progress goes to stderr.
set -euo pipefail
unset PIP_FIND_LINKS PIP_INDEX_URL_EXTRA

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(sed -nE 's/^version = "([^"]+)"/\1/p' "$ROOT/pyproject.toml" | head -n1)
IMAGE=${IRONFLOW_IMAGE:-ghcr.io/ironflow/ironflow-operator:$VERSION}
OUT=${1:-$ROOT/.build/ironflow-operator-$VERSION.oci.tar}
MIRROR=${IRONFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYTHON=${PYTHON:-python3}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
# The image's interpreter: Debian bookworm's 3.11. The wheels are chosen by the host's pip, so
# the host must be CPython 3.11 on glibc x86_64 too (the ABI tags must match).
DEBIAN_PACKAGES=python3.11-minimal,libpython3.11-stdlib

say() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "mmdebstrap's extract needs root here (no user namespaces); run as root"
for tool in mmdebstrap umoci; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install mmdebstrap umoci (hack/install-image-tools.sh)"
done
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "the host Python must be 3.11 to pick cp311 wheels (have $("$PYTHON" --version 2>&1))"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RFS=$WORK/rootfs
START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START ))s"; }

# The extract variant unpacks the packages without dpkg, so dpkg's status file stays empty: write
# it from the packages' own control data, so scanners (and the SBOM: debsbom) see what is inside.
dpkg_status() {
  for deb in $(ls "$1"/var/cache/apt/archives/*.deb | LC_ALL=C sort); do
    dpkg-deb --field "$deb" | awk '{ print } /^Package:/ { print "Status: install ok installed" }'
    echo
  done >"$1/var/lib/dpkg/status"
}

say "extracting Debian packages ($DEBIAN_PACKAGES and their dependencies)"
mmdebstrap --quiet --variant=extract --include="$DEBIAN_PACKAGES" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --extract-hook="ls \"\$1\"/var/cache/apt/archives/ | grep '\\.deb\$' | LC_ALL=C sort >'$WORK/debs.txt'" \
  --extract-hook="$(declare -f dpkg_status); dpkg_status \"\$1\"" \
  bookworm "$RFS" "$MIRROR" >&2
ln -sf python3.11 "$RFS/usr/bin/python3"

SITE=$RFS/usr/lib/python3/dist-packages
mkdir -p "$SITE"
say "installing the pinned dependencies (requirements/operator.lock, hashes required) ($(elapsed))"
PIP=("$PYTHON" -m pip --quiet --disable-pip-version-check)
"${PIP[@]}" install --root-user-action=ignore --no-deps --require-hashes \
  --only-binary=:all: --no-compile --target "$SITE" -r "$ROOT/requirements/operator.lock"
say "building and installing the ironflow wheel ($(elapsed))"
"${PIP[@]}" wheel --no-deps --wheel-dir "$WORK/wheel" "$ROOT" >&2
rm -rf "$SITE/bin"
"${PIP[@]}" install --root-user-action=ignore --no-deps --no-compile --target "$SITE" "$WORK"/wheel/*.whl
rm -rf "$SITE/bin"
# pip records where the wheel came from: a temporary path, different in every build.
for dist in "$SITE"/ironflow_operator-*.dist-info; do
  rm -f "$dist/direct_url.json"
  sed -i '/\/direct_url\.json,/d' "$dist/RECORD"
done

# pip's console-script wrappers point at the host interpreter: write the image's own. The image
# runs the operator only: the `ironflow` CLI and its Kubernetes client (the `cli` extra) belong on
# a workstation, so neither is installed here.
mkdir -p "$RFS/usr/local/bin"
printf '#!/usr/bin/python3.11\nimport sys\nfrom ironflow.controller.entry import main\nsys.exit(main())\n' \
  >"$RFS/usr/local/bin/ironflow-operator"
chmod 0755 "$RFS/usr/local/bin/ironflow-operator"

# Byte-code compiled once with the image's own interpreter: the root filesystem is read-only,
# so Python could never cache it at run time and every start would compile kopf and the client.
say "compiling byte code with the image's interpreter ($(elapsed))"
chroot "$RFS" /usr/bin/python3.11 -m compileall -q -j 0 --invalidation-mode unchecked-hash \
  /usr/lib/python3.11 /usr/lib/python3/dist-packages >/dev/null \
  || die "compileall failed in the image"
chroot "$RFS" /usr/bin/python3.11 -c 'import ironflow.controller.entry, ironflow.controller.main' \
  || die "the image's interpreter cannot import ironflow"

# The non-root user, numeric so the kubelet can check runAsNonRoot without resolving names.
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nironflow:x:65532:65532:ironflow:/nonexistent:/usr/sbin/nologin\n' >"$RFS/etc/passwd"
printf 'root:x:0:\nironflow:x:65532:\n' >"$RFS/etc/group"
# Nothing at run time installs packages or needs dpkg's database; a package list stays for
# scanners (what went in is listed in /usr/share/ironflow/packages.txt).
mkdir -p "$RFS/usr/share/ironflow"
sed -E 's#.*/##; s#_[^_]+\.deb$##; s#_# #' "$WORK/debs.txt" >"$RFS/usr/share/ironflow/packages.txt"
"$PYTHON" -m pip --disable-pip-version-check list --path "$SITE" --format freeze >"$RFS/usr/share/ironflow/python-packages.txt"
# dpkg's status file stays (what the SBOM and image scanners read); /etc/apt named the mirror.
mv "$RFS/var/lib/dpkg/status" "$WORK/dpkg-status"
rm -rf "$RFS"/var/cache/apt "$RFS"/var/lib/apt "$RFS"/var/lib/dpkg "$RFS"/var/log/* "$RFS"/usr/share/doc \
  "$RFS"/usr/share/man "$RFS"/usr/bin/dpkg* "$RFS"/usr/sbin/dpkg* "$RFS"/usr/bin/update-alternatives \
  "$RFS"/usr/share/dpkg "$RFS"/etc/dpkg "$RFS"/etc/alternatives "$RFS"/etc/apt
mkdir -p "$RFS/var/lib/dpkg" && mv "$WORK/dpkg-status" "$RFS/var/lib/dpkg/status"
mkdir -p "$RFS/tmp" && chmod 1777 "$RFS/tmp"

say "writing the OCI image with umoci ($(elapsed))"
LAYOUT=$WORK/layout TAG=${IMAGE##*:}
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:$TAG"
umoci unpack --image "$LAYOUT:$TAG" "$WORK/bundle" >/dev/null
rmdir "$WORK/bundle/rootfs" && mv "$RFS" "$WORK/bundle/rootfs"
# One time stamp for every file newer than the source (the layer records mtimes): the source's.
find "$WORK/bundle/rootfs" -newermt "@$SOURCE_DATE_EPOCH" -print0 \
  | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
umoci repack --history.created="$CREATED" --image "$LAYOUT:$TAG" "$WORK/bundle"
umoci config --image "$LAYOUT:$TAG" --created="$CREATED" --history.created="$CREATED" \
  --config.user 65532:65532 --config.workingdir /tmp \
  --config.entrypoint /usr/local/bin/ironflow-operator --config.cmd --in-cluster \
  --config.env PYTHONDONTWRITEBYTECODE=1 --config.env PYTHONUNBUFFERED=1 \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.exposedports 8080/tcp --config.exposedports 8081/tcp --config.exposedports 9443/tcp \
  --config.label org.opencontainers.image.title=ironflow-operator \
  --config.label org.opencontainers.image.version="$VERSION" \
  --config.label org.opencontainers.image.licenses=Apache-2.0 \
  --manifest.annotation org.opencontainers.image.ref.name="$IMAGE" \
  --os linux --architecture amd64 --author ironflow
umoci gc --layout "$LAYOUT"
# containerd's importer names an image after the index's ref.name annotation: give the full name.
"$PYTHON" - "$LAYOUT/index.json" "$IMAGE" <<'PY'
import json, sys
path, image = sys.argv[1], sys.argv[2]
index = json.load(open(path))
for manifest in index["manifests"]:
    manifest.setdefault("annotations", {})["org.opencontainers.image.ref.name"] = image
json.dump(index, open(path, "w"))
PY
mkdir -p "$(dirname "$OUT")"
tar -C "$LAYOUT" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
size=$(du -m "$OUT" | cut -f1)
say "image $IMAGE written to $OUT (${size} MiB, $(elapsed))"
echo "$OUT"
