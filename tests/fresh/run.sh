#!/usr/bin/env bash
# The README's two commands on a plain Debian 12: a container of the base
# image (debootstrap's minbase, nothing else installed) gets a fresh clone of
# a commit, runs `script/server` until `/`, `/healthz` and `/ws` answer from
# the host, stops it, then runs `script/test` (every stage, the compose one
# included, with podman inside the container). Too long for every CI run
# (about an hour on 2 cores): run it before resolving an issue that touches
# installing or building.
#
#   tests/fresh/run.sh [COMMIT]     (default HEAD; needs root and podman)
#
# Writes the whole log to build/artifacts/fresh/<commit>.log and prints
# each phase's time. SERENDIP_KEEP_TMP=1 keeps the clone and the container's
# storage. The container reaches Debian's mirror and the npm registry (it
# installs as a new machine would); its tests keep their own traffic on its
# loopback, in network namespaces of their own.
set -euo pipefail

# The whole run is one function, read before it starts: editing this file
# during an hour-long run cannot change what the run does.
main() {
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  repo=$(cd "$here/../.." && pwd)
  . "$here/../support/podman/env.sh"
  podman_env

  commit=$(git -C "$repo" rev-parse "${1:-HEAD}")
  short=${commit:0:10}
  [ "$(id -u)" = 0 ] || { echo "run.sh: needs root (rootful podman)" >&2; exit 2; }
  command -v podman >/dev/null || { echo "run.sh: podman is missing (script/bootstrap)" >&2; exit 2; }

  artifacts="$repo/build/artifacts/fresh"
  mkdir -p "$artifacts"
  log="$artifacts/$short.log"
  tmp=$(mktemp -d /var/tmp/serendip-fresh.XXXXXX)
  name="serendip-fresh-$short"
  cleanup() {
    podman rm -f "$name" >/dev/null 2>&1 || true
    if [ -n "${SERENDIP_KEEP_TMP:-}" ]; then echo "run.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
  }
  trap cleanup EXIT

  SECONDS=0
  phase() { printf '[%4d s] %s\n' "$SECONDS" "$*" | tee -a "$log"; }
  : >"$log"

  base_image
  phase "base image ready"
  git clone -q --no-hardlinks "$repo" "$tmp/src"
  git -C "$tmp/src" checkout -q --detach "$commit"
  phase "cloned $short"

  # The CAs this machine trusts beyond Debian's own (a TLS-inspecting proxy in
  # front of the npm registry), installed where a machine of this kind has
  # them; nothing else from the host goes in.
  mkdir -p "$tmp/ca" "$tmp/storage"
  cp /usr/local/share/ca-certificates/*.crt "$tmp/ca/" 2>/dev/null || true
  cat "$tmp"/ca/*.crt >"$tmp/extra-ca.pem" 2>/dev/null || true

  # --privileged: the tests make network namespaces and run podman themselves
  # (its storage on a host directory: overlay cannot sit on overlay).
  podman run -d --name "$name" --privileged --shm-size=2g \
    -p 127.0.0.1::8080 \
    -v "$tmp/src:/root/serendip" -v "$tmp/storage:/var/lib/containers" \
    -v "$tmp/ca:/usr/local/share/ca-certificates:ro" -v "$tmp/extra-ca.pem:/etc/serendip-extra-ca.pem:ro" \
    -e NODE_EXTRA_CA_CERTS=/etc/serendip-extra-ca.pem \
    -w /root/serendip localhost/debian:bookworm sleep infinity >/dev/null
  port=$(podman port "$name" 8080/tcp | head -n1 | sed 's/.*://')
  inside() { podman exec -w /root/serendip "$name" bash -c "$1"; }

  # ---- script/server until the page, /healthz and /ws answer from the host ------
  phase "script/server: starting (a plain Debian 12: it installs, then builds)"
  # Its log and exit status land in the clone, which the host can read.
  podman exec -d -w /root/serendip "$name" \
    bash -c 'script/server --listen 0.0.0.0 >fresh-server.log 2>&1; echo $? >fresh-server.rc' >/dev/null
  served=false
  for _ in $(seq 1800); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then served=true; break; fi
    [ -f "$tmp/src/fresh-server.rc" ] && break
    sleep 1
  done
  cat "$tmp/src/fresh-server.log" >>"$log" 2>/dev/null || true
  if ! $served; then
    phase "FAILED: script/server did not serve /healthz (exit status: $(cat "$tmp/src/fresh-server.rc" 2>/dev/null || echo 'none, 30 min'))"
    tail -n 30 "$log"
    exit 1
  fi
  phase "script/server: serving"
  status=0
  check() {
    if "$@"; then phase "ok - ${desc}"; else phase "FAILED - ${desc}"; status=1; fi
  }
  desc="/ answers 200 with the page"
  check bash -c "curl -sf http://127.0.0.1:$port/ | grep -q '<title>Serendip'"
  desc="/healthz answers ok"
  check bash -c "[ \"\$(curl -sf http://127.0.0.1:$port/healthz)\" = ok ]"
  desc="/ws upgrades (101) and sends welcome"
  check bash -c "curl -s -i -N --max-time 3 --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -H 'Origin: http://127.0.0.1:$port' http://127.0.0.1:$port/ws 2>/dev/null | tr -d '\000' >$tmp/ws.out; \
    grep -q '^HTTP/1.1 101' $tmp/ws.out && grep -q '\"type\":\"welcome\"' $tmp/ws.out"
  # The server runs in the foreground of script/server (exec): end it.
  inside 'kill $(pidof serendip-server) 2>/dev/null; for _ in $(seq 50); do pidof serendip-server >/dev/null || break; sleep 0.1; done' || true
  rm -f "$tmp/src/fresh-server.log" "$tmp/src/fresh-server.rc"

  # ---- script/test: everything, as CI runs it --------------------------------------
  phase "script/test: starting"
  test_status=0
  inside 'script/test' >>"$log" 2>&1 || test_status=$?
  grep -E '^(== |stages: |  FAILED)' "$log" | tail -n 40
  if [ $test_status -eq 0 ]; then phase "ok - script/test passed"; else phase "FAILED - script/test exited $test_status"; status=1; fi
  phase "done (log: $log)"
  return $status
}

main "$@"
exit
