#!/usr/bin/env bash
# Builds an earlier release from git history, once per commit, for the upgrade test
# (tests/incluster/test_upgrade_on_node.py): the commit's tree as `git archive` gives it (its chart
# and crds/ exactly as released) and its operator image archive, built by that commit's own
# hack/build-image.sh, so the old image is what that release's `make image` made.
#
# Why a cache outside the repository: the build takes minutes (mmdebstrap, pip, byte code) and its
# result depends on the commit only, so a machine (and CI) builds each previous release once.
#
# Usage: hack/build-previous-release.sh COMMIT
# Environment: IRONFLOW_RELEASE_CACHE (default ~/.cache/ironflow/releases), PYTHON (python3.11).
# Prints the release's directory as its last stdout line: src/ (the tree), image.oci.tar, version.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 COMMIT" >&2; exit 2; }
COMMIT=$(git -C "$ROOT" rev-parse --verify "$1^{commit}") \
  || { echo "[previous-release] ERROR: $1 is not a commit of this repository (a shallow clone?)" >&2; exit 1; }
CACHE=${IRONFLOW_RELEASE_CACHE:-$HOME/.cache/ironflow/releases}
DIR=$CACHE/$COMMIT
mkdir -p "$CACHE"

exec 9>"$DIR.lock"
flock 9
if [ -f "$DIR/done" ]; then
  echo "[previous-release] $COMMIT: cached ($(cat "$DIR/version"))" >&2
  echo "$DIR"
  exit 0
fi

START=$(date +%s)
rm -rf "$DIR" && mkdir -p "$DIR/src"
git -C "$ROOT" archive --format=tar "$COMMIT" | tar -x -C "$DIR/src"
VERSION=$(sed -nE 's/^version = "([^"]+)"/\1/p' "$DIR/src/pyproject.toml" | head -n1)
echo "[previous-release] building $VERSION from $COMMIT" >&2
PYTHON=${PYTHON:-python3} "$DIR/src/hack/build-image.sh" "$DIR/image.oci.tar" >/dev/null
echo "$VERSION" >"$DIR/version"
echo "$COMMIT" >"$DIR/commit"
echo "$(( $(date +%s) - START ))" >"$DIR/build-seconds"
touch "$DIR/done"
echo "[previous-release] $VERSION built in $(cat "$DIR/build-seconds")s: $DIR" >&2
echo "$DIR"
