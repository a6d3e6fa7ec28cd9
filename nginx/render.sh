#!/usr/bin/env bash
# Renders nginx/nginx.conf.template into a directory, ready for
#   nginx -p DIR/ -c DIR/nginx.conf
# Used by the nginx container (docker/nginx-entrypoint.sh), by the lint stage
# and by the topology test, so all three run the same configuration.
#
#   nginx/render.sh OUT_DIR
#
# Environment (required unless a default is shown):
#   SERENDIP_UPSTREAMS       instances, space-separated host:port ("server1:8080 server2:8080")
#   SERENDIP_TLS_CERT        PEM certificate chain
#   SERENDIP_TLS_KEY         PEM private key
#   SERENDIP_WEB_ROOT        the built web client (web/dist)
#   SERENDIP_HTTP_LISTEN     listen argument of the redirecting server (80)
#   SERENDIP_HTTPS_LISTEN    listen argument of the HTTPS server (443)
#   SERENDIP_HTTPS_PORT      the public HTTPS port the redirect points to (443)
#   SERENDIP_WS_CONN_PER_IP  open /ws connections per client address (20)
#   SERENDIP_WS_RATE         /ws requests per client address (10r/s)
#   SERENDIP_WS_BURST        burst above that rate (20)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

out=${1:?usage: render.sh OUT_DIR}

: "${SERENDIP_HTTP_LISTEN:=80}"
: "${SERENDIP_HTTPS_LISTEN:=443}"
: "${SERENDIP_HTTPS_PORT:=443}"
: "${SERENDIP_WS_CONN_PER_IP:=20}"
: "${SERENDIP_WS_RATE:=10r/s}"
: "${SERENDIP_WS_BURST:=20}"
for v in SERENDIP_UPSTREAMS SERENDIP_TLS_CERT SERENDIP_TLS_KEY SERENDIP_WEB_ROOT; do
  if [ -z "${!v:-}" ]; then
    echo "nginx/render.sh: $v is not set" >&2
    exit 2
  fi
done
[[ $SERENDIP_HTTPS_PORT =~ ^[0-9]+$ ]] || { echo "nginx/render.sh: SERENDIP_HTTPS_PORT must be a port number" >&2; exit 2; }
[[ $SERENDIP_WS_CONN_PER_IP =~ ^[0-9]+$ && $SERENDIP_WS_BURST =~ ^[0-9]+$ ]] ||
  { echo "nginx/render.sh: SERENDIP_WS_CONN_PER_IP and SERENDIP_WS_BURST must be numbers" >&2; exit 2; }
[[ $SERENDIP_WS_RATE =~ ^[0-9]+r/[sm]$ ]] || { echo "nginx/render.sh: SERENDIP_WS_RATE must look like 10r/s" >&2; exit 2; }

# The redirect keeps the port only when it is not the default one.
SERENDIP_HTTPS_SUFFIX=
[ "$SERENDIP_HTTPS_PORT" = 443 ] || SERENDIP_HTTPS_SUFFIX=":$SERENDIP_HTTPS_PORT"

SERENDIP_UPSTREAM_SERVERS=
for u in $SERENDIP_UPSTREAMS; do
  [[ $u =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] || { echo "nginx/render.sh: bad upstream '$u' (host:port)" >&2; exit 2; }
  SERENDIP_UPSTREAM_SERVERS+="        server $u max_fails=1 fail_timeout=5s;"$'\n'
done
export SERENDIP_HTTPS_SUFFIX SERENDIP_UPSTREAM_SERVERS SERENDIP_HTTP_LISTEN SERENDIP_HTTPS_LISTEN \
  SERENDIP_WS_CONN_PER_IP SERENDIP_WS_RATE SERENDIP_WS_BURST

mkdir -p "$out/tmp"
# Only these variables are replaced: nginx's own ($host, $uri...) stay.
vars='${SERENDIP_UPSTREAM_SERVERS} ${SERENDIP_TLS_CERT} ${SERENDIP_TLS_KEY} ${SERENDIP_WEB_ROOT}
  ${SERENDIP_HTTP_LISTEN} ${SERENDIP_HTTPS_LISTEN} ${SERENDIP_HTTPS_SUFFIX}
  ${SERENDIP_WS_CONN_PER_IP} ${SERENDIP_WS_RATE} ${SERENDIP_WS_BURST}'
envsubst "$vars" <"$here/nginx.conf.template" >"$out/nginx.conf.tmp"
if grep -nE '\$\{SERENDIP_[A-Z0-9_]+\}' "$out/nginx.conf.tmp" >&2; then
  echo "nginx/render.sh: the template names a variable this script does not fill" >&2
  exit 2
fi
mv "$out/nginx.conf.tmp" "$out/nginx.conf"
cp "$here/security-headers.conf" "$out/security-headers.conf"
