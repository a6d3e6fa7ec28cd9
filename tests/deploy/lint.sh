#!/usr/bin/env bash
# Static checks of the deployment files, no Docker engine needed:
#   - compose.yaml is valid for docker-compose with an .env made from
#     .env.example, and refuses to start when a secret is missing;
#   - its shape: healthchecks, restart policies, depends_on conditions,
#     Redis unpublished and capped, coturn's relay range bounded;
#   - docker/Dockerfile passes dockerfile-utils' linter, and what that linter
#     cannot see: stages, non-root user, health check, COPY sources that
#     exist in the build context, runtime packages that cover every shared
#     library of the server binary;
#   - nginx -t accepts the rendered nginx configuration; the rendered coturn
#     configuration carries its hardening.
#
#   tests/deploy/lint.sh [SERVER_BINARY]    (default build/serendip-server)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
server=${1:-build/serendip-server}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*" >&2; failures=$((failures + 1)); }

# ---- compose ------------------------------------------------------------------
secret() { openssl rand -hex 24; }
sed "s/^REDIS_PASSWORD=.*/REDIS_PASSWORD=$(secret)/; s/^TURN_SECRET=.*/TURN_SECRET=$(secret)/; s/^ADDRESS_SECRET=.*/ADDRESS_SECRET=$(secret)/" .env.example >"$tmp/env"
if docker-compose --env-file "$tmp/env" -f compose.yaml config -q; then
  ok "docker-compose config -q with .env.example and secrets"
else
  fail "docker-compose config -q with .env.example and secrets"
fi

for missing in REDIS_PASSWORD TURN_SECRET ADDRESS_SECRET; do
  sed "s/^$missing=.*/$missing=/" "$tmp/env" >"$tmp/env.missing"
  if docker-compose --env-file "$tmp/env.missing" -f compose.yaml config -q 2>"$tmp/err"; then
    fail "compose accepts an empty $missing"
  elif grep -q "$missing is not set - copy .env.example to .env" "$tmp/err"; then
    ok "compose refuses an empty $missing with a clear message"
  else
    fail "compose refuses an empty $missing, but says: $(cat "$tmp/err")"
  fi
done

docker-compose --env-file "$tmp/env" -f compose.yaml config >"$tmp/compose.yaml"
if /usr/bin/python3 - "$tmp/compose.yaml" <<'PY'; then ok "compose: services, images built here, health, restarts, dependencies, exposure"; else fail "compose: shape"; fi
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
check(set(svc) == {"nginx", "server1", "server2", "redis", "coturn"}, f"services: {sorted(svc)}")
# Every image is built here from docker/Dockerfile (FROM Debian 12 only).
for name, s in svc.items():
    b = s.get("build") or {}
    check(b.get("dockerfile") == "docker/Dockerfile" and b.get("target"), f"{name}: not built from docker/Dockerfile")
    check(str(s.get("image", "")).startswith("serendip/"), f"{name}: image {s.get('image')} would be pulled")
for name, s in svc.items():
    check("healthcheck" in s and s["healthcheck"].get("test"), f"{name}: no healthcheck")
    check(s.get("restart") in ("unless-stopped", "always"), f"{name}: restart policy {s.get('restart')}")
    check("mem_limit" in s, f"{name}: no memory limit")
def published(s):
    return {(int(p["published"]), p.get("protocol", "tcp")) for p in s.get("ports", [])}
check(published(svc["nginx"]) == {(80, "tcp"), (443, "tcp")}, f"nginx ports {published(svc['nginx'])}")
for name in ("server1", "server2", "redis"):
    check(not svc[name].get("ports"), f"{name} is published to the host")
for name in ("server1", "server2"):
    check(svc[name]["depends_on"]["redis"]["condition"] == "service_healthy", f"{name}: depends_on redis")
    env = svc[name]["environment"]
    for key in ("SERENDIP_STORE", "SERENDIP_TURN_SECRET", "SERENDIP_TURN_URLS", "SERENDIP_TURN_TTL",
                "SERENDIP_ALLOWED_ORIGINS", "SERENDIP_INSTANCE_ID"):
        check(env.get(key), f"{name}: {key} missing")
    check(env["SERENDIP_STORE"].startswith("redis://:") and "@redis:6379" in env["SERENDIP_STORE"], f"{name}: store")
    check(env["SERENDIP_TURN_SECRET"] == svc["coturn"]["environment"]["TURN_SECRET"], f"{name}: TURN secret differs from coturn's")
    check(svc[name].get("user") in (None, "") , f"{name}: user set in compose (the image's non-root user is meant)")
check(svc["server1"]["environment"]["SERENDIP_INSTANCE_ID"] != svc["server2"]["environment"]["SERENDIP_INSTANCE_ID"], "instance ids")
for dep in ("server1", "server2"):
    check(svc["nginx"]["depends_on"][dep]["condition"] == "service_healthy", f"nginx: depends_on {dep}")
ups = svc["nginx"]["environment"]["SERENDIP_UPSTREAMS"].split()
addrs = {svc[n]["networks"]["backend"]["ipv4_address"] for n in ("server1", "server2")}
check({u.rsplit(":", 1)[0] for u in ups} == addrs, f"nginx upstreams {ups} are not the servers' addresses {addrs}")
check(doc["networks"]["backend"].get("internal") is True, "backend network is not internal")
redis_cmd = " ".join(svc["redis"]["command"])
for part in ("--save ''", "--appendonly no", "--requirepass", "--maxmemory ", "--maxmemory-policy noeviction"):
    check(part in redis_cmd, f"redis command lacks {part}")
udp = sorted(p for p, proto in published(svc["coturn"]) if proto == "udp")
check(3478 in udp and (3478, "tcp") in published(svc["coturn"]), "coturn: 3478 udp+tcp")
relay = [p for p in udp if p != 3478]
check(0 < len(relay) <= 1000, f"coturn relay range of {len(relay)} ports")
cenv = svc["coturn"]["environment"]
check(relay == list(range(int(cenv["TURN_MIN_PORT"]), int(cenv["TURN_MAX_PORT"]) + 1)), "coturn: published range differs from its configured range")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# ---- Dockerfile -----------------------------------------------------------------
if out=$(cd web && node_modules/.bin/dockerfile-utils lint --json ../docker/Dockerfile) && [ "$(tr -d '[:space:]' <<<"$out")" = "[]" ]; then
  ok "dockerfile-utils lint docker/Dockerfile: no problem"
else
  fail "dockerfile-utils lint docker/Dockerfile: $out"
fi

if /usr/bin/python3 - docker/Dockerfile .dockerignore <<'PY'; then ok "Dockerfile: stages (all FROM Debian 12), user, health check, COPY sources"; else fail "Dockerfile: structure"; fi
import fnmatch, os, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
ignore = [l.strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
def ignored(path):
    out = False
    for pat in ignore:
        neg = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[:i]), pat) for i in range(1, len(parts) + 1)) or \
           fnmatch.fnmatch(path, pat):
            out = not neg
    return out
stages, cur, errors = {}, None, []
for l in lines:
    word, _, rest = l.partition(" ")
    word = word.upper()
    if word == "FROM":
        m = re.match(r"(\S+)\s+AS\s+(\S+)", rest, re.I)
        cur = m.group(2) if m else None
        stages[cur] = {"from": m.group(1) if m else rest, "user": None, "health": False, "cmds": []}
        last = cur
    elif cur is not None:
        st = stages[cur]
        st["cmds"].append(l)
        if word == "USER":
            st["user"] = rest.strip()
        if word == "HEALTHCHECK":
            st["health"] = True
        if word == "COPY" and "--from=" not in rest:
            srcs = rest.split()[:-1]
            for s in srcs:
                p = s.rstrip("/")
                if not os.path.exists(p):
                    errors.append(f"COPY {s}: not in the build context")
                elif ignored(p):
                    errors.append(f"COPY {s}: excluded by .dockerignore")
for need in ("web", "build", "server", "nginx", "redis", "coturn"):
    if need not in stages:
        errors.append(f"no stage {need}")
# One base image for the whole stack: nothing else is ever pulled.
for name, st in stages.items():
    if st["from"] not in ("debian:bookworm", "debian:bookworm-slim"):
        errors.append(f"stage {name} is FROM {st['from']}, not debian:bookworm(-slim)")
if last != "server":
    errors.append(f"the last (default) stage is {last}, not server")
srv = stages.get("server", {})
if srv.get("from") != "debian:bookworm-slim":
    errors.append(f"server stage from {srv.get('from')}")
if srv.get("user") in (None, "root", "0"):
    errors.append("server stage runs as root")
if not srv.get("health"):
    errors.append("server stage has no HEALTHCHECK")
if stages.get("build", {}).get("from") != "debian:bookworm":
    errors.append("build stage is not Debian 12")
if not stages.get("coturn", {}).get("user"):
    errors.append("coturn stage runs as root")
for name in ("nginx", "coturn"):
    if not stages.get(name, {}).get("health"):
        errors.append(f"{name} stage has no HEALTHCHECK")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# The images run these directly (COPY keeps the mode).
not_exec=()
for f in docker/http-check docker/announce nginx/entrypoint.sh nginx/render.sh coturn/entrypoint.sh coturn/render.sh; do
  [ -x "$f" ] || not_exec+=("$f")
done
if [ ${#not_exec[@]} -eq 0 ]; then ok "entrypoints and the health check are executable"; else fail "not executable: ${not_exec[*]}"; fi

# The runtime stage's packages: every shared library the binary needs comes
# from them or from what debian:bookworm-slim already has.
if [ -x "$server" ]; then
  runtime_pkgs=$(/usr/bin/python3 - docker/Dockerfile <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage = text.split("AS server", 1)[1]
m = re.search(r"apt-get install -y --no-install-recommends ([^&]+)", stage)
print(" ".join(m.group(1).split()))
PY
)
  base="libc6 libgcc-s1 libstdc++6"
  missing=()
  while read -r lib; do
    # dpkg knows a file by the path its package ships (/lib or /usr/lib).
    real=$(readlink -f "$lib")
    pkg=
    for p in "$lib" "$real" "${real#/usr}" "/usr${lib}"; do
      pkg=$(dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$pkg" ] && break
    done
    [ -n "$pkg" ] || { missing+=("$lib (no package)"); continue; }
    [[ " $runtime_pkgs $base " == *" $pkg "* ]] || missing+=("$lib ($pkg)")
  done < <(ldd "$server" | awk '/=> \// {print $3}')
  if [ ${#missing[@]} -eq 0 ]; then
    ok "server stage packages ($runtime_pkgs) cover every library of $server"
  else
    fail "server stage lacks packages for: ${missing[*]}"
  fi
else
  fail "no server binary at $server to check the runtime packages against"
fi

# The build stage's context: exactly what its COPY lines bring must configure
# (a directory CMake adds but the stage does not copy fails here, not in a
# docker build nobody runs in CI).
build_srcs=$(/usr/bin/python3 - docker/Dockerfile <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage = re.split(r"^FROM ", text, flags=re.M)
build = next(s for s in stage if re.match(r"\S+\s+AS\s+build\b", s, re.I))
for line in build.splitlines():
    if line.startswith("COPY ") and "--from=" not in line:
        print(" ".join(line.split()[1:-1]))
PY
)
mkdir -p "$tmp/context"
# shellcheck disable=SC2086
cp -r --parents $build_srcs "$tmp/context/"
if cmake -S "$tmp/context" -B "$tmp/context/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSERENDIP_BUILD_TESTS=OFF \
  >"$tmp/cmake.log" 2>&1 && ninja -C "$tmp/context/build" -t targets all >"$tmp/targets" &&
  grep -q '^serendip-server:' "$tmp/targets"; then
  ok "the build stage's files ($(tr '\n' ' ' <<<"$build_srcs")) configure serendip-server without tests"
else
  fail "the build stage's files do not configure: $(tail -n 5 "$tmp/cmake.log")"
fi

# ---- nginx and coturn configurations -------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
chmod 755 "$tmp"
if SERENDIP_UPSTREAMS="127.0.0.1:1 127.0.0.1:2" SERENDIP_TLS_CERT="$tmp/cert.pem" SERENDIP_TLS_KEY="$tmp/key.pem" \
  SERENDIP_WEB_ROOT="$repo/web/dist" SERENDIP_HTTP_LISTEN=127.0.0.1:18080 SERENDIP_HTTPS_LISTEN=127.0.0.1:18443 \
  nginx/render.sh "$tmp/nginx" && nginx -t -q -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e stderr; then
  ok "nginx -t on the rendered nginx/nginx.conf.template"
else
  fail "nginx -t on the rendered nginx/nginx.conf.template"
fi
# What a short test cannot see: /ws outlives the server's 20 s ping and 45 s
# idle timeout, and the upstream balances by open connections.
if /usr/bin/python3 - "$tmp/nginx/nginx.conf" <<'PY'; then ok "nginx: /ws timeouts above 45 s, least_conn"; else fail "nginx: /ws timeouts or balancing"; fi
import re, sys
conf = open(sys.argv[1]).read()
ws = re.search(r"location = /ws \{(.*?)\n        \}", conf, re.S).group(1)
errors = []
for d in ("proxy_read_timeout", "proxy_send_timeout"):
    m = re.search(d + r" (\d+)s;", ws)
    if not m or int(m.group(1)) <= 45:
        errors.append(f"{d} missing or not above 45 s")
for d in ("proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;",
          "proxy_http_version 1.1;", "access_log off;", "limit_conn ws_conn", "limit_req zone=ws_req"):
    if d not in ws:
        errors.append(f"/ws lacks {d}")
up = re.search(r"upstream serendip \{(.*?)\}", conf, re.S).group(1)
if "least_conn;" not in up:
    errors.append("upstream without least_conn")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

if TURN_SECRET=$(secret) coturn/render.sh >"$tmp/turnserver.conf"; then
  want=(use-auth-secret "static-auth-secret=" no-cli no-multicast-peers "user-quota=" "total-quota=" "max-bps="
    "log-file=stdout" "denied-peer-ip=10.0.0.0-10.255.255.255" "denied-peer-ip=172.16.0.0-172.31.255.255"
    "denied-peer-ip=192.168.0.0-192.168.255.255" "denied-peer-ip=127.0.0.0-127.255.255.255"
    "denied-peer-ip=169.254.0.0-169.254.255.255" "denied-peer-ip=100.64.0.0-100.127.255.255"
    "denied-peer-ip=::1" "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
  lacking=()
  for w in "${want[@]}"; do grep -q "^$w" "$tmp/turnserver.conf" || lacking+=("$w"); done
  for w in verbose Verbose allow-loopback-peers cli-password web-admin lt-cred-mech; do
    grep -q "^$w" "$tmp/turnserver.conf" && lacking+=("(must not have) $w")
  done
  # coturn reads a range from :: as open below for IPv4 too (every IPv4 peer denied).
  grep -q '^denied-peer-ip=::-' "$tmp/turnserver.conf" && lacking+=("(must not have) a range from ::")
  if [ ${#lacking[@]} -eq 0 ]; then ok "coturn configuration hardened"; else fail "coturn configuration: ${lacking[*]}"; fi
else
  fail "coturn/render.sh"
fi

if [ $failures -ne 0 ]; then
  echo "tests/deploy/lint.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "tests/deploy/lint.sh: all checks passed"
