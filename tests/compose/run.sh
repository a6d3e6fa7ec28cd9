#!/usr/bin/env bash
# compose.yaml for real: every image built from docker/Dockerfile with
# `docker-compose build`, then `docker-compose up -d` of the whole stack
# (nginx, two servers, Redis, coturn) on rootful podman's Docker-compatible
# API, real Chromium pages through nginx's published HTTPS port
# (tests/compose/*.test.mjs), and `docker-compose down -v`.
#
#   tests/compose/run.sh [node --test args...]
#   tests/compose/run.sh --build-only    the base image and the images, nothing else
#                                        (script/test starts it early, in the background)
#
# SERENDIP_KEEP_TMP=1 keeps the run's folder (.env, logs); SERENDIP_COMPOSE_HOLD=1
# keeps the stack up after the tests until the folder's "hold" file goes.
#
# Needs root, podman, docker-compose and debootstrap (script/bootstrap), and
# web/node_modules (script/web) for the browsers. See docs/deploy.md,
# "What tests/compose/run.sh proves".
#
# Where the traffic goes: the images are built first, outside, where apt and
# npm reach their registries. Then podman's API service, every container,
# podman's bridges, the published ports and the browsers all run inside one
# private network namespace (unshare --net) that holds only loopback and the
# bridges podman makes in it. No interface in it leads off this machine and
# it has no default route, so no packet of the stack or the browsers can
# reach another host.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/../support/podman/env.sh"
podman_env
cd "$repo"

project=serendip-compose-test
# docker-compose builds through the Docker API itself (docker-py), not by
# calling a `docker` program: a plain Debian has none, and podman's API
# serves this legacy build.
export COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0
compose() { docker-compose --project-directory "$repo" -f "$repo/compose.yaml" --env-file "$SERENDIP_COMPOSE_ENV" -p "$project" "$@"; }

# ---- outside the namespace: the base image and every image of compose.yaml --
build_only=false
[ "${1:-}" = --build-only ] && { build_only=true; shift; }

if [ -z "${SERENDIP_IN_NETNS:-}" ]; then
  for tool in podman docker-compose debootstrap unshare ip openssl node; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (script/bootstrap)" >&2; exit 2; }
  done
  [ "$(id -u)" = 0 ] || { echo "run.sh: needs root (rootful podman, unshare)" >&2; exit 2; }
  $build_only || [ -d web/node_modules/playwright-core ] || { echo "run.sh: web/node_modules is missing (script/web)" >&2; exit 2; }
  # One run at a time on a machine: two would share the project's containers.
  exec 9>/run/lock/serendip-compose-test.lock
  flock -w 1800 9 || { echo "run.sh: another compose test holds the lock" >&2; exit 1; }

  tmp=$(mktemp -d /tmp/serendip-compose.XXXXXX)
  chmod 755 "$tmp"
  export SERENDIP_COMPOSE_TMP=$tmp SERENDIP_COMPOSE_ENV=$tmp/env
  trap 'stop_api; [ -n "${SERENDIP_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
  SECONDS=0

  # .env from .env.example with generated secrets; the test's own project
  # name, so that a real deployment on this machine is never touched.
  secret() { openssl rand -hex 32; }
  sed -e "s/^REDIS_PASSWORD=.*/REDIS_PASSWORD=$(secret)/" -e "s/^TURN_SECRET=.*/TURN_SECRET=$(secret)/" \
    -e "s/^ADDRESS_SECRET=.*/ADDRESS_SECRET=$(secret)/" -e "s/^COMPOSE_PROJECT_NAME=.*/COMPOSE_PROJECT_NAME=$project/" \
    .env.example >"$SERENDIP_COMPOSE_ENV"

  base_image
  # CAs this machine trusts beyond Debian's own (a TLS-inspecting proxy in
  # front of the npm registry): the web stage's npm step needs them too.
  NPM_EXTRA_CA=
  for ca in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$ca" ] && NPM_EXTRA_CA+="$(cat "$ca")"$'\n'
  done
  export NPM_EXTRA_CA
  start_api "$tmp/build.sock" "$tmp/podman-build.log"
  echo "run.sh: docker-compose build (cached layers are reused)"
  if ! compose build >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log" >&2
    echo "run.sh: docker-compose build failed" >&2
    exit 1
  fi
  stop_api
  echo "run.sh: images built in ${SECONDS} s"
  podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep 'serendip/.*:local' || true
  $build_only && exit 0

  unset NPM_EXTRA_CA
  export SERENDIP_IN_NETNS=1
  status=0
  unshare --net -- bash "${BASH_SOURCE[0]}" "$@" || status=$?
  exit $status
fi

# ---- inside the namespace: up, the browsers, down ---------------------------
ip link set lo up
tmp=$SERENDIP_COMPOSE_TMP
health_pid=
cleanup() {
  [ -n "$health_pid" ] && kill "$health_pid" 2>/dev/null
  if [ -n "${DOCKER_HOST:-}" ]; then
    compose down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  stop_api
}
trap cleanup EXIT

failures=0
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*" >&2; failures=$((failures + 1)); }

containers() { podman ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}'; }
dump_logs() {
  local c
  for c in $(containers); do
    echo "--- $c ($(podman inspect --format '{{.State.Status}} {{.State.Health.Status}}' "$c" 2>/dev/null))" >&2
    podman logs --tail 15 "$c" >&2 2>&1 || true
  done
}

start_api "$tmp/api.sock" "$tmp/podman.log"
# What an interrupted earlier run may have left.
compose down -v --remove-orphans >/dev/null 2>&1 || true

# podman runs health checks from systemd timers, and there is no systemd
# here: run them every second instead, for as long as the stack is up (the
# depends_on conditions wait on them).
(
  while :; do
    for c in $(podman ps --filter "label=com.docker.compose.project=$project" --format '{{.ID}}'); do
      podman healthcheck run "$c" >/dev/null 2>&1 || true
    done
    sleep 1
  done
) &
health_pid=$!

SECONDS=0
if compose up -d >"$tmp/up.log" 2>&1; then
  ok "docker-compose up -d ($SECONDS s)"
else
  cat "$tmp/up.log" >&2
  dump_logs
  echo "run.sh: docker-compose up failed" >&2
  exit 1
fi

all_healthy() {
  local c n=0
  for c in $(containers); do
    [ "$(podman inspect --format '{{.State.Health.Status}}' "$c")" = healthy ] || return 1
    n=$((n + 1))
  done
  [ "$n" = 5 ]
}
for _ in $(seq 90); do all_healthy && break; sleep 1; done
if all_healthy; then
  ok "all 5 services healthy ($(containers | sort | tr '\n' ' ')after $SECONDS s)"
else
  dump_logs
  echo "run.sh: not every service turned healthy within 90 s" >&2
  exit 1
fi

# The tests drive compose through this wrapper (kill, restart, exec).
cat >"$tmp/compose" <<EOF
#!/usr/bin/env bash
exec docker-compose --project-directory $(printf %q "$repo") -f $(printf %q "$repo/compose.yaml") --env-file $(printf %q "$SERENDIP_COMPOSE_ENV") -p $project "\$@"
EOF
chmod 755 "$tmp/compose"

https_port=$(sed -n 's/^HTTPS_PORT=//p' "$SERENDIP_COMPOSE_ENV")
if [ "$https_port" = 443 ]; then export SERENDIP_URL=https://localhost; else export SERENDIP_URL="https://localhost:$https_port"; fi
export SERENDIP_COMPOSE="$tmp/compose"
export SERENDIP_ARTIFACTS="$repo/build/artifacts"
mkdir -p "$SERENDIP_ARTIFACTS"
status=0
node --test --test-concurrency=1 --test-reporter=spec "$@" "$here"/*.test.mjs || status=$?
if [ $status -ne 0 ]; then
  fail "the browser tests through the stack"
  dump_logs
fi

# SERENDIP_COMPOSE_HOLD=1: keep the stack up for a look from inside the
# namespace until $tmp/hold is removed.
if [ -n "${SERENDIP_COMPOSE_HOLD:-}" ]; then
  touch "$tmp/hold"
  echo "run.sh: holding the stack: nsenter -t $$ -n -- env DOCKER_HOST=$DOCKER_HOST $tmp/compose ps; rm $tmp/hold to end" >&2
  while [ -e "$tmp/hold" ]; do sleep 1; done
fi

# ---- down -v leaves nothing ----------------------------------------------------
kill "$health_pid" 2>/dev/null; health_pid=
if compose down -v --remove-orphans >"$tmp/down.log" 2>&1; then
  ok "docker-compose down -v"
else
  cat "$tmp/down.log" >&2
  fail "docker-compose down -v"
fi
left_containers=$(containers)
left_networks=$(podman network ls --format '{{.Name}}' | grep "^${project}_" || true)
left_volumes=$(podman volume ls --format '{{.Name}}' | grep "^${project}_" || true)
if [ -z "$left_containers$left_networks$left_volumes" ]; then
  ok "no container, network or volume of the project is left"
else
  fail "left behind: containers [$left_containers] networks [$left_networks] volumes [$left_volumes]"
fi

[ $status -eq 0 ] && [ $failures -eq 0 ] || { echo "run.sh: the compose test failed" >&2; exit 1; }
echo "run.sh: the compose test passed"
