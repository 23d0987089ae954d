#!/usr/bin/env bash
# Builds the Bitnami Sealed Secrets controller (the benchmark peer) from its published
# Go module at a pinned version, into a cache outside the repo; `make bench` runs it beside
# Ironflow on the same embedded control plane.
#
# Why this way (checked against the module proxy when the version was pinned): since v0.40.0 the module's
# go.mod says github.com/bitnami/sealed-secrets while the proxy serves it only as
# github.com/bitnami-labs/sealed-secrets, so `go install ...@v0.40.0` fails; the module is
# downloaded, copied to a scratch dir and built there as the main module. Its controller reads
# only the in-cluster config; a Go build -overlay swaps that one call for a kubeconfig loader
# ($KUBECONFIG), so the released source runs otherwise unchanged. Its source is never copied
# into the repo.
#
# Environment:
#   IRONFLOW_CACHE_DIR   cache root (default ~/.cache/ironflow)
# Prints the directory holding `controller` and `bitnami.com_sealedsecrets.yaml` as its last
# stdout line; progress goes to stderr.
set -euo pipefail
# shellcheck source=lib/build-lock.sh
HERE="${BASH_SOURCE[0]%/*}"; [ "$HERE" != "${BASH_SOURCE[0]}" ] || HERE=.  # no dirname: PATH may be bare
source "$HERE/lib/build-lock.sh"

VERSION="v0.40.0"
MODULE="github.com/bitnami-labs/sealed-secrets"
CACHE="${IRONFLOW_CACHE_DIR:-$HOME/.cache/ironflow}"
OUT="$CACHE/peer/sealed-secrets-$VERSION"
CRD="bitnami.com_sealedsecrets.yaml"

say() { printf '[sealed-secrets] %s\n' "$*" >&2; }
die() { printf '[sealed-secrets] ERROR: %s\n' "$*" >&2; exit 1; }
complete() { [ -x "$OUT/controller" ] && [ -s "$OUT/$CRD" ]; }

if complete; then
  say "using cached build in $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed (need go >= 1.26 on PATH)"

# One build into this cache at a time; the cache is checked again under the lock.
build_lock build

# Only the module proxy is reached, and nothing of a cluster: no in-cluster hints, no proxies.
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
export GOMODCACHE="${IRONFLOW_GOMODCACHE:-$CACHE/go/mod}"
export GOCACHE="${IRONFLOW_GOCACHE:-$CACHE/go/build}"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
mkdir -p "$GOMODCACHE" "$GOCACHE"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START ))s"; }

say "downloading $MODULE@$VERSION from the module proxy"
DIR="$(cd "$WORK" && go mod download -json "$MODULE@$VERSION" | sed -nE 's/^\t"Dir": "(.*)",?$/\1/p')"
[ -d "$DIR" ] || die "go mod download gave no module directory for $MODULE@$VERSION"
cp -r "$DIR" "$WORK/src"
chmod -R u+w "$WORK/src"

# The overlay: pkg/controller/main.go with rest.InClusterConfig() replaced by a kubeconfig
# loader. Checked, so a changed source fails loudly instead of building the unpatched controller.
MAIN="$WORK/src/pkg/controller/main.go"
[ "$(grep -c 'rest\.InClusterConfig()' "$MAIN")" = 1 ] || die "expected one rest.InClusterConfig() in $MAIN"
[ "$(grep -c 'rest\.' "$MAIN")" = 1 ] || die "rest is used beyond InClusterConfig in $MAIN"
[ "$(grep -c '^	"k8s.io/client-go/rest"$' "$MAIN")" = 1 ] || die "expected the client-go/rest import in $MAIN"
sed -e 's#rest\.InClusterConfig()#clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))#' \
    -e 's#^	"k8s.io/client-go/rest"$#	"k8s.io/client-go/tools/clientcmd"#' "$MAIN" > "$WORK/main.go"
printf '{"Replace": {"%s": "%s"}}\n' "$MAIN" "$WORK/main.go" > "$WORK/overlay.json"

say "building controller from $MODULE@$VERSION ($(go env GOVERSION)) ... ($(elapsed) so far)"
mkdir -p "$OUT"
(cd "$WORK/src" && go build -overlay "$WORK/overlay.json" -trimpath \
  -ldflags "-s -w -X main.VERSION=$VERSION" -o "$OUT/controller.tmp" ./cmd/controller) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 30 &
  wait $! || true
  kill -0 "$pid" 2>/dev/null && say "still building controller ($(elapsed))"
done
wait "$pid" || die "go build ./cmd/controller failed"
cp "$WORK/src/helm/sealed-secrets/crds/$CRD" "$OUT/$CRD.tmp"
mv "$OUT/$CRD.tmp" "$OUT/$CRD"
mv "$OUT/controller.tmp" "$OUT/controller"
say "built $OUT/controller in $(elapsed)"
echo "$OUT"
