# Sourced by the test runners (tests/*/run.sh).

# stop_all PID...: SIGTERM to each, then up to 5 s for each to exit before
# SIGKILL, so that servers get to drain and flush their logs.
stop_all() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# drop_tmp DIR: removes a run's directory unless SERENDIP_KEEP_TMP is set.
drop_tmp() {
  if [ -n "${SERENDIP_KEEP_TMP:-}" ]; then echo "run.sh: kept $1" >&2; else rm -rf "$1"; fi
}
