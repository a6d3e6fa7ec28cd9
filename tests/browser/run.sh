#!/usr/bin/env bash
# Browser end-to-end tests: real Chromium (Debian's /usr/bin/chromium through
# playwright-core) against the real server, all inside a private network
# namespace that holds only loopback (Chromium skips loopback ICE candidates
# otherwise, and no test traffic can leave the machine).
#
#   tests/browser/run.sh SERVER_BINARY [node --test args...]
#
# Expects web/node_modules (npm ci) and web/dist (npm run build). Writes
# screenshots to build/artifacts/ and caches the face video fixture in
# build/browser-fixtures/. Exits non-zero when a test fails.
#
# Environment: SERENDIP_TESTS (a space-separated list of test files to run),
# SERENDIP_SERVER_ARGS (extra server flags).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ $# -lt 1 ]; then
  echo "usage: $0 SERVER_BINARY [node --test args...]" >&2
  exit 2
fi

fixtures="$repo/build/browser-fixtures"
face_video="$fixtures/face.y4m"

# ---- outside the namespace: things that need the package registry ---------
if [ -z "${SERENDIP_IN_NETNS:-}" ]; then
  server=$(command -v "$1" || true)
  [ -n "$server" ] || server=$1
  server=$(realpath "$server")
  if [ ! -x "$server" ]; then
    echo "run.sh: server binary not found or not executable: $1" >&2
    exit 2
  fi
  if [ ! -f "$repo/web/dist/index.html" ]; then
    echo "run.sh: web/dist is missing: run 'npm ci && npm run build' in web/ first" >&2
    exit 2
  fi
  if [ ! -d "$repo/web/node_modules/playwright-core" ]; then
    echo "run.sh: web/node_modules is missing: run 'npm ci' in web/ first" >&2
    exit 2
  fi

  # The face video: Debian's python3-imageio ships astronaut.png (a portrait
  # photo); turn it into a 640x480 yuv420p y4m for Chromium's fake camera.
  if [ ! -s "$face_video" ]; then
    mkdir -p "$fixtures"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (
      cd "$work"
      apt-get download python3-imageio >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 && apt-get download python3-imageio >/dev/null 2>&1; }
      dpkg-deb -x python3-imageio_*.deb x
    ) || { echo "run.sh: could not fetch python3-imageio for the face fixture" >&2; exit 1; }
    png=$(find "$work/x" -name astronaut.png | head -n1)
    [ -n "$png" ] || { echo "run.sh: astronaut.png not found in python3-imageio" >&2; exit 1; }
    cp "$png" "$fixtures/astronaut.png"
    # Scale to fill 640x480 (crop the excess), 10 frames at 10 fps; Chromium loops it.
    ffmpeg -hide_banner -loglevel error -y -loop 1 -i "$png" -t 1 -r 10 \
      -vf "scale=640:480:force_original_aspect_ratio=increase,crop=640:480" \
      -pix_fmt yuv420p "$face_video.tmp.y4m"
    mv "$face_video.tmp.y4m" "$face_video"
    rm -rf "$work"
    trap - EXIT
  fi

  mkdir -p "$repo/build/artifacts"
  export SERENDIP_IN_NETNS=1 SERENDIP_SERVER_BIN="$server"
  shift
  exec unshare --net -- bash "${BASH_SOURCE[0]}" "$server" "$@"
fi

# ---- inside the namespace -------------------------------------------------
shift
ip link set lo up

server=$SERENDIP_SERVER_BIN
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck disable=SC2086
"$server" --listen 127.0.0.1 --port 0 --port-file "$tmp/port" --web-root "$repo/web/dist" \
  --threads 2 --max-per-address 1000 --new-per-minute 100000 ${SERENDIP_SERVER_ARGS:-} >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 150); do
  [ -s "$tmp/port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: the server exited during startup:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$tmp/port" ]; then
  echo "run.sh: the server did not write its port file within 15 s" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
port=$(tr -d '[:space:]' <"$tmp/port")

export SERENDIP_URL="http://127.0.0.1:$port"
export SERENDIP_SERVER="$server"
export SERENDIP_WEB_ROOT="$repo/web/dist"
export SERENDIP_FACE_VIDEO="$face_video"
export SERENDIP_ARTIFACTS="$repo/build/artifacts"
echo "run.sh: server $server on $SERENDIP_URL (pid $server_pid)"

if [ -n "${SERENDIP_TESTS:-}" ]; then
  # shellcheck disable=SC2206
  files=($SERENDIP_TESTS)
else
  files=("$here"/*.test.mjs)
fi

status=0
node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}" || status=$?

if [ $status -ne 0 ]; then
  echo "run.sh: browser tests failed (exit $status); last server log lines:" >&2
  tail -n 40 "$tmp/server.log" >&2 || true
fi
exit $status
