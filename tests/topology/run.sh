#!/usr/bin/env bash
# The deployment's topology without Docker: Debian's nginx with the
# repository's configuration (nginx/render.sh), two serendip-server instances
# sharing one redis-server, and coturn with the repository's configuration
# (coturn/render.sh), all on loopback inside a private network namespace;
# then real Chromium pages over HTTPS through nginx (tests/topology/*.test.mjs).
#
#   tests/topology/run.sh SERVER_BINARY [node --test args...]
#
# Expects web/node_modules and web/dist (script/web). Needs root (unshare).
# Fixed ports are safe: the namespace holds nothing else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/../support/stop.sh"

if [ $# -lt 1 ]; then
  echo "usage: $0 SERVER_BINARY [node --test args...]" >&2
  exit 2
fi

# ---- outside the namespace --------------------------------------------------------
if [ -z "${SERENDIP_IN_NETNS:-}" ]; then
  server=$(realpath "$1")
  [ -x "$server" ] || { echo "run.sh: server binary not found: $1" >&2; exit 2; }
  [ -f "$repo/web/dist/index.html" ] || { echo "run.sh: web/dist is missing (script/web)" >&2; exit 2; }
  [ -d "$repo/web/node_modules/playwright-core" ] || { echo "run.sh: web/node_modules is missing (script/web)" >&2; exit 2; }
  for tool in nginx turnserver turnutils_stunclient redis-server openssl envsubst unshare ip; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (script/bootstrap)" >&2; exit 2; }
  done
  mkdir -p "$repo/build/artifacts"
  export SERENDIP_IN_NETNS=1 SERENDIP_SERVER_BIN="$server"
  shift
  exec unshare --net -- bash "${BASH_SOURCE[0]}" "$server" "$@"
fi

# ---- inside the namespace ---------------------------------------------------------
shift
ip link set lo up

server=$SERENDIP_SERVER_BIN
tmp=$(mktemp -d)
# nginx's workers run as nobody: they must reach the prefix and read the files.
chmod 755 "$tmp"
pids=()
cleanup() {
  [ -s "$tmp/instance1-again.pid" ] && pids+=("$(cat "$tmp/instance1-again.pid")")
  stop_all "${pids[@]}"
  drop_tmp "$tmp"
}
trap cleanup EXIT

die() {
  echo "run.sh: $*" >&2
  for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}

http_port=18080
https_port=18443
redis_port=16379
turn_port=3478
origin="https://127.0.0.1:$https_port"
redis_password=$(openssl rand -hex 16)
turn_secret=$(openssl rand -hex 16)

# The self-signed certificate the pages meet (they ignore HTTPS errors).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

# ---- Redis, as compose runs it: no persistence, a password, a memory cap ------
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --requirepass "$redis_password" --maxmemory 200mb --maxmemory-policy noeviction \
  --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)

# ---- two server instances ------------------------------------------------------
turn_args=()
help=$("$server" --help)
if [[ $help == *--turn-secret* ]]; then
  turn_args=(--turn-urls "turn:127.0.0.1:$turn_port?transport=udp" --turn-ttl 10m)
  export SERENDIP_TURN_SECRET=$turn_secret
  export SERENDIP_TOPOLOGY_TURN=1
else
  echo "run.sh: this server has no --turn-secret: the relay step will be skipped" >&2
fi
# nginx on 127.0.0.1 is the trusted proxy; every page of the test comes from
# 127.0.0.1 too, so the per-address limits are raised (nginx's own limit_conn
# is what this test checks).
abuse_args=(--trusted-proxy 127.0.0.1 --address-secret topology-test --max-per-address 1000 --new-per-minute 100000)
instance_urls=()
instance_pids=()
for n in 1 2; do
  "$server" --listen 127.0.0.1 --port 0 --port-file "$tmp/port$n" --web-root "$repo/web/dist" --threads 1 \
    --store "redis://:$redis_password@127.0.0.1:$redis_port" --instance-id "instance$n" \
    --allowed-origins "$origin" "${turn_args[@]}" "${abuse_args[@]}" >"$tmp/server$n.log" 2>&1 &
  pids+=($!)
  instance_pids+=($!)
done
for n in 1 2; do
  for _ in $(seq 100); do [ -s "$tmp/port$n" ] && break; sleep 0.1; done
  [ -s "$tmp/port$n" ] || die "instance $n did not start"
  instance_urls+=("http://127.0.0.1:$(tr -d '[:space:]' <"$tmp/port$n")")
done
# For the rolling-restart test: instance 1 again, on the port nginx knows and
# with the same name (as compose restarts a container).
restart_cmd=("$server" --listen 127.0.0.1 --port "${instance_urls[0]##*:}" --web-root "$repo/web/dist" --threads 1
  --store "redis://:$redis_password@127.0.0.1:$redis_port" --instance-id instance1
  --allowed-origins "$origin" "${turn_args[@]}" "${abuse_args[@]}")
{
  echo '#!/usr/bin/env bash'
  echo "echo \$\$ >$(printf %q "$tmp/instance1-again.pid")"
  echo "exec $(printf '%q ' "${restart_cmd[@]}") >>$(printf %q "$tmp/server1.log") 2>&1"
} >"$tmp/restart-instance1.sh"
chmod 700 "$tmp/restart-instance1.sh"
for url in "${instance_urls[@]}"; do
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || die "$url/readyz is $code"
done

# ---- coturn: the shipped configuration, with loopback peers allowed ------------
# Only here: the pages and the relay share 127.0.0.1, which the shipped
# configuration forbids as a peer. Everything else must be as shipped.
TURN_SECRET=$turn_secret TURN_PORT=$turn_port TURN_LISTEN_IP=127.0.0.1 TURN_RELAY_IP=127.0.0.1 \
  TURN_STATE_DIR="$tmp/coturn" "$repo/coturn/render.sh" >"$tmp/turnserver.shipped.conf"
grep -v '^denied-peer-ip=127\.0\.0\.0-127\.255\.255\.255$' "$tmp/turnserver.shipped.conf" >"$tmp/turnserver.conf"
echo "allow-loopback-peers" >>"$tmp/turnserver.conf"
changed=$(diff "$tmp/turnserver.shipped.conf" "$tmp/turnserver.conf" | grep -c '^[<>]' || true)
[ "$changed" = 2 ] || die "the test's coturn configuration differs from the shipped one in $changed lines, not 2"
mkdir -p "$tmp/coturn"
"$repo/coturn/entrypoint.sh" "$tmp/turnserver.conf" >"$tmp/coturn.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  timeout 1 turnutils_stunclient -p "$turn_port" 127.0.0.1 >/dev/null 2>&1 && break
  sleep 0.1
done
timeout 1 turnutils_stunclient -p "$turn_port" 127.0.0.1 >/dev/null 2>&1 || die "coturn does not answer STUN"

# ---- nginx: the shipped template, rendered for loopback ports --------------------------
# Its workers run as nobody: they get their own copy of the client (a
# checkout under /root, say, is not theirs to read).
cp -r "$repo/web/dist" "$tmp/www"
chmod -R a+rX "$tmp/www"
SERENDIP_UPSTREAMS="${instance_urls[0]#http://} ${instance_urls[1]#http://}" \
  SERENDIP_TLS_CERT="$tmp/cert.pem" SERENDIP_TLS_KEY="$tmp/key.pem" SERENDIP_WEB_ROOT="$tmp/www" \
  SERENDIP_HTTP_LISTEN="127.0.0.1:$http_port" SERENDIP_HTTPS_LISTEN="127.0.0.1:$https_port" \
  SERENDIP_HTTPS_PORT="$https_port" "$repo/nginx/render.sh" "$tmp/nginx"
nginx -t -q -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e stderr || die "nginx -t failed"
nginx -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e stderr -g 'daemon off;' >"$tmp/nginx-access.log" 2>"$tmp/nginx-error.log" &
pids+=($!)
for _ in $(seq 50); do
  curl -sk -o /dev/null "https://127.0.0.1:$https_port/" && break
  sleep 0.1
done
curl -sk -o /dev/null "https://127.0.0.1:$https_port/" || die "nginx does not answer"

# A second nginx from the same template whose only upstream is a port the
# test listens on itself: it shows exactly what nginx sends to an instance.
SERENDIP_UPSTREAMS="127.0.0.1:18090" \
  SERENDIP_TLS_CERT="$tmp/cert.pem" SERENDIP_TLS_KEY="$tmp/key.pem" SERENDIP_WEB_ROOT="$tmp/www" \
  SERENDIP_HTTP_LISTEN="127.0.0.1:18081" SERENDIP_HTTPS_LISTEN="127.0.0.1:18444" \
  SERENDIP_HTTPS_PORT=18444 "$repo/nginx/render.sh" "$tmp/nginx-probe"
nginx -p "$tmp/nginx-probe/" -c "$tmp/nginx-probe/nginx.conf" -e stderr -g 'daemon off;' >/dev/null 2>"$tmp/nginx-probe-error.log" &
pids+=($!)
for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:18444/" && break; sleep 0.1; done
export SERENDIP_PROBE_URL="https://127.0.0.1:18444" SERENDIP_PROBE_UPSTREAM_PORT=18090

export SERENDIP_URL=$origin
export SERENDIP_HTTP_URL="http://127.0.0.1:$http_port"
export SERENDIP_INSTANCES="${instance_urls[*]}"
export SERENDIP_INSTANCE_PIDS="${instance_pids[*]}"
export SERENDIP_RESTART_INSTANCE1="$tmp/restart-instance1.sh"
export SERENDIP_TURN_URL="turn:127.0.0.1:$turn_port?transport=udp"
export SERENDIP_NGINX_ACCESS_LOG="$tmp/nginx-access.log"
export SERENDIP_COTURN_LOG="$tmp/coturn.log"
export SERENDIP_SERVER_LOGS="$tmp/server1.log $tmp/server2.log"
export SERENDIP_ARTIFACTS="$repo/build/artifacts"
echo "run.sh: nginx $origin -> ${instance_urls[*]}; redis :$redis_port; coturn :$turn_port"

status=0
node --test --test-concurrency=1 --test-reporter=spec "$@" "$here"/*.test.mjs || status=$?
if [ $status -ne 0 ]; then
  echo "run.sh: topology tests failed (exit $status)" >&2
  for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
fi
exit $status
