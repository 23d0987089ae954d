#!/usr/bin/env bash
# Builds the real control plane (etcd, kube-apiserver, kube-controller-manager, kubectl, helm) and
# the node's Kubernetes parts (kubelet, kube-scheduler, kube-proxy, crictl) from their published Go
# modules at pinned versions, into a cache outside the repo.
#
# Why from source: this machine has no Docker engine and no internet except the Go module
# proxy, so envtest's prebuilt tarballs cannot be fetched. Building once per machine, keyed by
# version, keeps every later run (tests, `make cluster`, CI) at start-up cost only.
#
# Environment:
#   K8S_VERSION          a supported minor ("1.33": its pinned patch release) or a full version of a
#                        supported minor ("1.33.13"); default: the newest. The table of minors and pins
#                        is K8S_VERSIONS in testbed/ironflow_testbed/binaries.py (one place).
#   IRONFLOW_K8S_VERSION an exact version, unchecked (overrides K8S_VERSION)
#   IRONFLOW_CP_NODE=0   build the control plane only (no kubelet, kube-scheduler, kube-proxy,
#                        crictl): enough for the integration and e2e tests. Saves little on its own
#                        (they share most packages with the API server: 2 of 25 minutes measured);
#                        for a second version, where etcd and helm are reused (below), it leaves
#                        only kube-apiserver, kube-controller-manager and kubectl to build.
#   IRONFLOW_CACHE_DIR   cache root (default ~/.cache/ironflow)
#   IRONFLOW_CP_DIR      where the binaries go (default $IRONFLOW_CACHE_DIR/control-plane/<versions>)
# Prints the binary directory on stdout as its last line; progress goes to stderr.
# `--print-version` only prints the Kubernetes version it would build; `--print-minors` the
# supported minors, oldest first (`make integration-oldest` takes the first).
set -euo pipefail

say() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf '[control-plane] ERROR: %s\n' "$*" >&2; exit 1; }

# Pure bash (no sed, no dirname): the version is resolved before any tool is known to exist.
HERE="${BASH_SOURCE[0]%/*}"; [ "$HERE" != "${BASH_SOURCE[0]}" ] || HERE=.
# shellcheck source=lib/build-lock.sh
source "$HERE/lib/build-lock.sh"
TABLE="$HERE/../testbed/ironflow_testbed/binaries.py"
declare -A PINS=()
DEFAULT_MINOR=""
while IFS= read -r line; do
  if [[ "$line" =~ ^\ *\"(1\.[0-9]+)\":\ \"(v1\.[0-9]+\.[0-9]+)\", ]]; then
    PINS[${BASH_REMATCH[1]}]="${BASH_REMATCH[2]}"
  elif [[ "$line" =~ ^DEFAULT_K8S_MINOR\ =\ \"([0-9.]+)\" ]]; then
    DEFAULT_MINOR="${BASH_REMATCH[1]}"
  fi
done <"$TABLE"
resolve_k8s() {  # 1.33 -> its pin; 1.33.2 -> v1.33.2; empty -> the default minor's pin
  local wanted="${1#v}" minor supported
  [ -n "$wanted" ] || wanted="$DEFAULT_MINOR"
  minor="${wanted%.*}"; [[ "$wanted" =~ ^1\.[0-9]+$ ]] && minor="$wanted"
  if ! [[ "$wanted" =~ ^1\.[0-9]+(\.[0-9]+)?$ ]] || [ -z "${PINS[$minor]:-}" ]; then
    supported="$(printf '%s\n' "${!PINS[@]}" | sort -V | tr '\n' ' ')"
    die "K8S_VERSION=$1 is not a supported Kubernetes version; supported minors: ${supported% }"
  fi
  if [ "$wanted" = "$minor" ]; then echo "${PINS[$minor]}"; else echo "v$wanted"; fi
}
if [ -n "${IRONFLOW_K8S_VERSION:-}" ]; then
  K8S_VERSION="$IRONFLOW_K8S_VERSION"
else
  K8S_VERSION="$(resolve_k8s "${K8S_VERSION:-}")"
fi
if [ "${1:-}" = --print-version ]; then echo "$K8S_VERSION"; exit 0; fi
if [ "${1:-}" = --print-minors ]; then printf '%s\n' "${!PINS[@]}" | sort -V; exit 0; fi
ETCD_VERSION="${IRONFLOW_ETCD_VERSION:-v3.6.8}"
HELM_VERSION="${IRONFLOW_HELM_VERSION:-v3.21.4}"
CRICTL_VERSION="${IRONFLOW_CRICTL_VERSION:-v1.37.0}"

CACHE="${IRONFLOW_CACHE_DIR:-$HOME/.cache/ironflow}"
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}_crictl-${CRICTL_VERSION}"
OUT="${IRONFLOW_CP_DIR:-$CACHE/control-plane/$KEY}"
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl helm)
NODE_BINARIES=(kube-scheduler kubelet kube-proxy crictl)
[ "${IRONFLOW_CP_NODE:-1}" = 0 ] || BINARIES+=("${NODE_BINARIES[@]}")

complete() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$OUT/$b" ] || return 1; done
}

if complete; then
  say "using cached binaries in $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed (need go >= 1.26 on PATH); install it, or set GOTOOLCHAIN to an approved toolchain"
GO_MINOR="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if [ "${GO_MINOR:-0}" -lt 26 ] && [ -z "${GOTOOLCHAIN:-}" ]; then
  die "Go $(go env GOVERSION) is too old for Kubernetes ${K8S_VERSION} (needs go1.26); export GOTOOLCHAIN=go1.27.3"
fi

# One build into this cache at a time; the cache is checked again under the lock.
build_lock binaries

export GOMODCACHE="${IRONFLOW_GOMODCACHE:-$CACHE/go/mod}"
export GOCACHE="${IRONFLOW_GOCACHE:-$CACHE/go/build}"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
mkdir -p "$OUT" "$GOMODCACHE" "$GOCACHE"

# etcd, helm and crictl do not depend on the Kubernetes version: a second version (K8S_VERSION=1.33)
# copies them from another version's cache with the same pins instead of building them again
# (looked for beside OUT and in the default cache, so an IRONFLOW_CP_DIR elsewhere reuses them too).
for b in etcd helm crictl; do
  [ -x "$OUT/$b" ] && continue
  [[ " ${BINARIES[*]} " == *" $b "* ]] || continue
  for other in "${OUT%/*}"/k8s-*_etcd-"${ETCD_VERSION}"_helm-"${HELM_VERSION}"_crictl-"${CRICTL_VERSION}" \
    "$CACHE"/control-plane/k8s-*_etcd-"${ETCD_VERSION}"_helm-"${HELM_VERSION}"_crictl-"${CRICTL_VERSION}"; do
    if [ "$other" != "$OUT" ] && [ -x "$other/$b" ]; then
      cp "$other/$b" "$OUT/$b.tmp" && mv "$OUT/$b.tmp" "$OUT/$b" && say "reused $b from $other"
      break
    fi
  done
done

PROXY="$(go env GOPROXY | cut -d, -f1)"
if [ "$PROXY" != "off" ] && [ "$PROXY" != "direct" ]; then
  curl -fsS -m 20 -o /dev/null "$PROXY/k8s.io/kubernetes/@v/${K8S_VERSION}.info" \
    || die "cannot reach the Go module proxy ($PROXY) for k8s.io/kubernetes@${K8S_VERSION}"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START ))s"; }

# A go build in the background with a heartbeat, so a 20-minute first build is visibly alive.
# `build DIR LDFLAGS NAME=PACKAGE...`: several main packages go to ONE go build (one load of the
# module graph, links overlapping compiles); stripped (-s -w) and without local paths (-trimpath).
build() {
  local dir="$1" ldflags="$2" names=() pkgs=() spec name bdir="$WORK/bin.$RANDOM"
  shift 2
  for spec in "$@"; do names+=("${spec%%=*}"); pkgs+=("${spec#*=}"); done
  mkdir -p "$bdir"
  say "building ${names[*]} ... ($(elapsed) so far)"
  local target="$bdir/"; [ "${#names[@]}" -gt 1 ] || target="$bdir/${names[0]}"
  ( cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$target" "${pkgs[@]}" ) >"$WORK/build.log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30 & wait $! || true
    kill -0 "$pid" 2>/dev/null && say "  ... still building ${names[*]} ($(elapsed))"
  done
  if ! wait "$pid"; then
    tail -n 40 "$WORK/build.log" >&2
    die "go build of ${pkgs[*]} failed (see above)"
  fi
  for name in "${names[@]}"; do
    [ -x "$bdir/$name" ] || die "go build of ${pkgs[*]} wrote no $name"
    mv "$bdir/$name" "$OUT/$name.tmp" && mv "$OUT/$name.tmp" "$OUT/$name"  # whole or absent
  done
  say "built ${names[*]} ($(elapsed))"
}

# --- kubernetes: a wrapper module replacing every staging module with its published twin ---
K8S_MINOR="$(echo "$K8S_VERSION" | sed -E 's/^v1\.([0-9]+)\..*/\1/')"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
KDIR="$WORK/kube"; mkdir -p "$KDIR"
say "resolving k8s.io/kubernetes@${K8S_VERSION} (staging modules at ${STAGING_VERSION})"
curl -fsS -m 60 "$PROXY/k8s.io/kubernetes/@v/${K8S_VERSION}.mod" -o "$WORK/kubernetes.mod" 2>/dev/null \
  || (cd "$WORK" && go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" >/dev/null && cp "$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/${K8S_VERSION}.mod" "$WORK/kubernetes.mod") \
  || die "cannot fetch k8s.io/kubernetes@${K8S_VERSION} go.mod"
{
  echo "module ironflow.local/kube"
  echo "go 1.26.0"
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$WORK/kubernetes.mod" \
    | awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
} >"$KDIR/go.mod"
say "$(grep -c '^replace' "$KDIR/go.mod") staging modules replaced; downloading modules (first run: several minutes)"
(cd "$KDIR" && go mod download k8s.io/kubernetes) >&2

DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
VFLAGS=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  VFLAGS="$VFLAGS -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${K8S_MINOR}"
  VFLAGS="$VFLAGS -X $p.gitCommit=module-${K8S_VERSION} -X $p.gitTreeState=clean -X $p.buildDate=${DATE}"
done
KUBE=()
for b in kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy; do
  [[ " ${BINARIES[*]} " == *" $b "* ]] || continue
  [ -x "$OUT/$b" ] || KUBE+=("$b=k8s.io/kubernetes/cmd/$b")
done
[ "${#KUBE[@]}" -eq 0 ] || build "$KDIR" "$VFLAGS" "${KUBE[@]}"

# --- etcd: its server module pins siblings by relative replace, so pin them by version here ---
EDIR="$WORK/etcd"; mkdir -p "$EDIR"
cat >"$EDIR/go.mod" <<MOD
module ironflow.local/etcd
go 1.24.0
require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 ${ETCD_VERSION}
)
MOD
[ -x "$OUT/etcd" ] || build "$EDIR" "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}" \
  "etcd=go.etcd.io/etcd/server/v3"

# --- helm ---
HDIR="$WORK/helm"; mkdir -p "$HDIR"
printf 'module ironflow.local/helm\ngo 1.26.0\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" >"$HDIR/go.mod"
[ -x "$OUT/helm" ] || build "$HDIR" \
  "-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  "helm=helm.sh/helm/v3/cmd/helm"

# --- crictl: the node harness talks CRI through it (sandboxes cleanup, image import checks) ---
if [[ " ${BINARIES[*]} " == *" crictl "* ]]; then
CDIR="$WORK/crictl"; mkdir -p "$CDIR"
printf 'module ironflow.local/crictl\ngo 1.26.0\nrequire sigs.k8s.io/cri-tools %s\n' "$CRICTL_VERSION" >"$CDIR/go.mod"
[ -x "$OUT/crictl" ] || build "$CDIR" "-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" \
  "crictl=sigs.k8s.io/cri-tools/cmd/crictl"
fi

complete || die "build finished but binaries are missing in $OUT"
printf '%s\n' "$K8S_VERSION" >"$OUT/VERSION"
say "control plane ready in $OUT ($(elapsed))"
echo "$OUT"
