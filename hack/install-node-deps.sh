#!/usr/bin/env bash
# Installs what the test bed's real node runs that is not built from Go modules: containerd 1.6,
# runc, the CNI plugins (bridge, host-local, loopback) and busybox-static (the rootfs of the
# node's images), all from Debian packages.
#
# Idempotent and quick: when every package is installed it only checks and exits (no apt-get
# update, no network). `apt-get update` runs once, and only when something is missing.
# Needs root (CI and the dev machines run as root); without it, says why in one line and fails
# only under CI=true (elsewhere the node tests then skip with the same reason).
# Environment: IRONFLOW_NODE_DEPS=skip skips the whole step (a machine that never runs the node).
set -euo pipefail

PACKAGES=(containerd runc containernetworking-plugins busybox-static iproute2 mount)
say() { printf '[node-deps] %s\n' "$*" >&2; }

if [ "${IRONFLOW_NODE_DEPS:-}" = skip ]; then
  say "IRONFLOW_NODE_DEPS=skip: not installing ${PACKAGES[*]}"
  exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "installed: ${PACKAGES[*]}"
  exit 0
fi

command -v apt-get >/dev/null || { say "missing ${missing[*]} and no apt-get: install them by hand"; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  # Not root: no node can run here anyway (docs/node.md); CI must have one, so there it fails.
  say "missing ${missing[*]}: installing needs root (apt-get install); node tests cannot run here"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
say "installing ${missing[*]} from Debian packages"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (another job on the machine) holds the dpkg lock for a while: wait for it.
APT=(apt-get -o DPkg::Lock::Timeout=600)
"${APT[@]}" update -qq
# --no-install-recommends: containerd recommends nothing we need; the node is started by the
# envtest harness, never by systemd (there is none), so the packages' services stay unused.
"${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package may start its own containerd on /run/containerd when a service manager is
# present; ours always runs on a private socket, so that one is neither needed nor touched.
say "installed: ${PACKAGES[*]}"
