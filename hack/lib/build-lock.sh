# Sourced by the hack/build-*.sh scripts that fill a cache directory OUT, after their fast path.
#
# Two builds into one cache at once would race on the same files: `build_lock WHAT` serialises
# them on OUT.lock (file descriptor 9, held until the script exits) and, once it holds the lock,
# checks the cache again: when the other run completed it, it prints OUT and exits 0. The caller
# defines `complete` (is OUT whole?) and `say`. The lock is taken after the caller's fast path,
# so a warm cache never waits.
build_lock() {
  mkdir -p "$(dirname "$OUT")"
  exec 9>"$OUT.lock"
  if ! flock -n 9; then
    say "another build into $OUT is running; waiting for it"
    flock 9
  fi
  if complete; then
    say "using cached $1 in $OUT (built by the other run)"
    echo "$OUT"
    exit 0
  fi
}
