#!/usr/bin/env bash
# The nginx container's entrypoint: makes a self-signed certificate on first
# start when none is given, renders the configuration (nginx/render.sh) and
# runs nginx in the foreground.
#
# Environment: as nginx/render.sh, plus
#   SERENDIP_TLS_DIR      where the certificate lives (/etc/serendip/tls):
#                         fullchain.pem and privkey.pem, as certbot names them
#   SERENDIP_PUBLIC_HOST  the name in a self-signed certificate (localhost)
#   SERENDIP_NGINX_PREFIX where the rendered configuration goes (/run/serendip-nginx)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tls_dir=${SERENDIP_TLS_DIR:-/etc/serendip/tls}
host=${SERENDIP_PUBLIC_HOST:-localhost}
prefix=${SERENDIP_NGINX_PREFIX:-/run/serendip-nginx}
export SERENDIP_TLS_CERT=${SERENDIP_TLS_CERT:-$tls_dir/fullchain.pem}
export SERENDIP_TLS_KEY=${SERENDIP_TLS_KEY:-$tls_dir/privkey.pem}

if [ ! -s "$SERENDIP_TLS_CERT" ] && [ ! -s "$SERENDIP_TLS_KEY" ]; then
  echo "nginx: no certificate in $tls_dir: making a self-signed one for $host" >&2
  mkdir -p "$(dirname "$SERENDIP_TLS_CERT")" "$(dirname "$SERENDIP_TLS_KEY")"
  san="DNS:localhost,IP:127.0.0.1"
  if [[ $host =~ ^[0-9.]+$ ]]; then
    [ "$host" = 127.0.0.1 ] || san="IP:$host,$san"
  elif [ "$host" != localhost ]; then
    san="DNS:$host,$san"
  fi
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=$host" -addext "subjectAltName=$san" \
    -keyout "$SERENDIP_TLS_KEY.tmp" -out "$SERENDIP_TLS_CERT.tmp" 2>/dev/null)
  mv "$SERENDIP_TLS_KEY.tmp" "$SERENDIP_TLS_KEY"
  mv "$SERENDIP_TLS_CERT.tmp" "$SERENDIP_TLS_CERT"
  chmod 644 "$SERENDIP_TLS_CERT"
elif [ ! -s "$SERENDIP_TLS_CERT" ] || [ ! -s "$SERENDIP_TLS_KEY" ]; then
  echo "nginx: $SERENDIP_TLS_CERT and $SERENDIP_TLS_KEY must both exist (or neither, for a self-signed one)" >&2
  exit 1
fi

"$here/render.sh" "$prefix"
nginx -t -q -p "$prefix/" -c "$prefix/nginx.conf" -e stderr
exec nginx -p "$prefix/" -c "$prefix/nginx.conf" -e stderr -g 'daemon off;'
