#!/usr/bin/env bash
# Builds containerd 2.x (containerd, containerd-shim-runc-v2, ctr) from its published Go module at a
# pinned version, into a cache outside the repo keyed by that version, like the control plane.
#
# Why: the node's default runtime is containerd 2 (kubelet 1.36 already reports containerd 1.x as
# losing support), and Debian ships only 1.6. runc, the CNI plugins and busybox still come from
# Debian packages (hack/install-node-deps.sh). Built without cgo and without the btrfs, devmapper
# and zfs snapshotters (the node uses overlayfs/native): a static build, no C toolchain needed.
#
# Environment:
#   IRONFLOW_CACHE_DIR           cache root (default ~/.cache/ironflow)
#   IRONFLOW_CONTAINERD_VERSION  the version to build (default v2.4.2)
#   IRONFLOW_CONTAINERD_DIR      where the binaries go (default $IRONFLOW_CACHE_DIR/containerd/<version>)
# Prints the binary directory on stdout as its last line; progress goes to stderr.
set -euo pipefail
# shellcheck source=lib/build-lock.sh
HERE="${BASH_SOURCE[0]%/*}"; [ "$HERE" != "${BASH_SOURCE[0]}" ] || HERE=.  # no dirname: PATH may be bare
source "$HERE/lib/build-lock.sh"

VERSION="${IRONFLOW_CONTAINERD_VERSION:-v2.4.2}"
CACHE="${IRONFLOW_CACHE_DIR:-$HOME/.cache/ironflow}"
OUT="${IRONFLOW_CONTAINERD_DIR:-$CACHE/containerd/$VERSION}"
BINARIES=(containerd containerd-shim-runc-v2 ctr)
MODULE="github.com/containerd/containerd/v2"

say() { printf '[containerd] %s\n' "$*" >&2; }
die() { printf '[containerd] ERROR: %s\n' "$*" >&2; exit 1; }

complete() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$OUT/$b" ] || return 1; done
}

if complete; then
  say "using cached binaries in $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed (need go >= 1.24 on PATH)"

# One build into this cache at a time; the cache is checked again under the lock.
build_lock binaries

export GOMODCACHE="${IRONFLOW_GOMODCACHE:-$CACHE/go/mod}"
export GOCACHE="${IRONFLOW_GOCACHE:-$CACHE/go/build}"
export GOFLAGS="-buildvcs=false"
export CGO_ENABLED=0
mkdir -p "$OUT" "$GOMODCACHE" "$GOCACHE"

PROXY="$(go env GOPROXY | cut -d, -f1)"
if [ "$PROXY" != "off" ] && [ "$PROXY" != "direct" ]; then
  curl -fsS -m 20 -o /dev/null "$PROXY/$MODULE/@v/${VERSION}.info" \
    || die "cannot reach the Go module proxy ($PROXY) for $MODULE@${VERSION}"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START ))s"; }

# `go install pkg@version` builds in module mode from the module's own go.mod (its pinned
# dependencies), so no wrapper module is needed. The version is stamped the way its Makefile does.
LDFLAGS="-s -w -X $MODULE/version.Version=${VERSION} -X $MODULE/version.Revision=module-${VERSION} -X $MODULE/version.Package=$MODULE"
PKGS=()
for b in "${BINARIES[@]}"; do PKGS+=("$MODULE/cmd/$b@${VERSION}"); done
say "building ${BINARIES[*]} from $MODULE@${VERSION} (first run: 7 minutes or more)"
( GOBIN="$WORK/bin" go install -trimpath -tags "no_btrfs no_devmapper no_zfs" -ldflags "$LDFLAGS" "${PKGS[@]}" ) \
  >"$WORK/build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 30 & wait $! || true
  kill -0 "$pid" 2>/dev/null && say "  ... still building ($(elapsed))"
done
if ! wait "$pid"; then
  tail -n 40 "$WORK/build.log" >&2
  die "go install of $MODULE@${VERSION} failed (see above)"
fi
for b in "${BINARIES[@]}"; do mv "$WORK/bin/$b" "$OUT/$b"; done
complete || die "build finished but binaries are missing in $OUT"
printf '%s\n' "$VERSION" >"$OUT/VERSION"
say "containerd ready in $OUT ($(elapsed))"
echo "$OUT"
