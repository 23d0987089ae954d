#!/usr/bin/env bash
# Installs what `make image` needs from Debian packages: mmdebstrap (extracts bookworm's Python
# into a root filesystem) and umoci (writes the OCI image). Quick when both are present.
set -euo pipefail
missing=()
for tool in mmdebstrap umoci; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { echo "[image] need root to apt-get install ${missing[*]}" >&2; exit 1; }
echo "[image] installing ${missing[*]} from Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
