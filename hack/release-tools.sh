#!/usr/bin/env bash
# The venv of the tools `make release` runs (requirements/release-tools.txt: build frontend and
# backend, SBOM generators), made once per version of that file under ~/.cache/ironflow, so a
# release never builds with a tool it did not pin. Prints the venv's python as its last line.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQS=$ROOT/requirements/release-tools.txt
PYTHON=${PYTHON:-python3}
DIR=${IRONFLOW_TOOLS_CACHE:-$HOME/.cache/ironflow/release-tools}/$(sha256sum "$REQS" | cut -c1-16)
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
if [ ! -f "$DIR/done" ]; then
  rm -rf "$DIR"
  echo "[release-tools] installing requirements/release-tools.txt into $DIR" >&2
  "$PYTHON" -m venv "$DIR"
  "$DIR/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" >&2
  touch "$DIR/done"
fi
echo "$DIR/bin/python"
