#!/usr/bin/env bash
# The privacy test (issue 7): a full session flow against real servers (two
# instances sharing a redis-server, then the memory store), then a scan of
# every log line they wrote, /metrics, and dumps of every Redis key and value
# for addresses, SDP, ICE candidates, chat text, report reasons, resume
# tokens and TURN credentials; every Redis key must have a TTL. First the
# scanner itself must flag a planted bad sample (--self-check).
#
#   tests/privacy/run.sh /abs/path/to/serendip-server
#
# Exit 0 when everything passed. SERENDIP_KEEP_TMP=1 keeps the logs.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../support/stop.sh"
python=/usr/bin/python3

if [ $# -ne 1 ]; then
  echo "usage: $0 /abs/path/to/serendip-server" >&2
  exit 2
fi
server=$1
# The binary may be in the middle of a rebuild: give it a moment.
for _ in $(seq 60); do [ -x "$server" ] && break; sleep 1; done
[ -x "$server" ] || { echo "run.sh: server binary not found: $server" >&2; exit 2; }
for tool in "$python" /usr/bin/redis-server; do
  [ -x "$tool" ] || { echo "run.sh: $tool is missing" >&2; exit 2; }
done

tmp=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/serendip-privacy.XXXXXX")" && pwd -P)
SECONDS=0

# Ends exactly the processes the driver started: each pid it wrote to
# $tmp/pids that still runs in $tmp or names it in its command line (so a
# reused pid is left alone; redis-server rewrites its command line).
driver=
cleanup() {
  local pid live=()
  [ -n "$driver" ] && kill -TERM "$driver" 2>/dev/null && wait "$driver" 2>/dev/null
  if [ -f "$tmp/pids" ]; then
    while read -r pid; do
      [ -e "/proc/$pid" ] || continue
      if [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$tmp" ] ||
         tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$tmp"; then
        live+=("$pid")
      fi
    done <"$tmp/pids"
    stop_all "${live[@]}"
  fi
  drop_tmp "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# In the background, so that a signal to this script is handled at once.
drive() {
  "$python" "$here/privacy_test.py" "$@" &
  driver=$!
  wait "$driver"
  local rc=$?
  driver=
  return "$rc"
}

status=0
drive --self-check --counts "$tmp/self-check.counts" || status=1
drive --tmp "$tmp" --counts "$tmp/test.counts" "$server" || status=1

passed=0 failed=0
for f in "$tmp/self-check.counts" "$tmp/test.counts"; do
  if [ -s "$f" ]; then
    read -r p n <"$f"
    passed=$((passed + p)) failed=$((failed + n))
  else
    failed=$((failed + 1))  # the driver died before counting
    status=1
  fi
done
if [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]; then
  printf '# privacy test: PASS, %d ok, 0 not ok (%ds)\n' "$passed" "$SECONDS"
else
  printf '# privacy test: FAIL, %d ok, %d not ok (%ds)\n' "$passed" "$failed" "$SECONDS"
  status=1
fi
exit "$status"
