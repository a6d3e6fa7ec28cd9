#!/usr/bin/env bash
# Starts coturn: renders the configuration (coturn/render.sh) into a private
# file, or takes the one given, and runs turnserver in the foreground with
# every IP address in its output masked, so no log holds a client address.
#
#   coturn/entrypoint.sh [CONFIG_FILE]
#
# Environment: as coturn/render.sh; COTURN_CONFIG, where to write the
# rendered file (default $TURN_STATE_DIR/turnserver.conf).
#
# With no TURN_EXTERNAL_IP, coturn announces its relays at its own address
# in the container network, a private one that the peer ranges deny: two
# relayed users would then never reach each other. That one address (and
# nothing else private) is allowed as a peer, unless TURN_ALLOWED_PEER_IPS
# says otherwise.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${TURN_EXTERNAL_IP:-}" ] && [ -z "${TURN_ALLOWED_PEER_IPS+set}" ]; then
  TURN_ALLOWED_PEER_IPS=${TURN_RELAY_IP:-$(hostname -I 2>/dev/null || true)}
  export TURN_ALLOWED_PEER_IPS
fi

conf=${1:-}
if [ -z "$conf" ]; then
  mkdir -p "${TURN_STATE_DIR:-/var/lib/turn}"
  conf=${COTURN_CONFIG:-${TURN_STATE_DIR:-/var/lib/turn}/turnserver.conf}
  (umask 077 && "$here/render.sh" >"$conf.tmp")
  mv "$conf.tmp" "$conf"
fi

# IPv6 first (it also catches ::ffff:a.b.c.d), then IPv4.
mask='s/\[?[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*\]?/<ip>/g; s/[0-9]{1,3}(\.[0-9]{1,3}){3}/<ip>/g'
exec turnserver -c "$conf" > >(exec sed -u -E "$mask") 2>&1
