#!/usr/bin/env bash
# Renders coturn/turnserver.conf.template to standard output. Used by the
# coturn container (coturn/entrypoint.sh), the lint stage and the topology
# test, so all of them run the same configuration.
#
# Environment (required unless a default is shown):
#   TURN_SECRET        the shared secret, the same as the server's --turn-secret
#   TURN_PORT          listening port, UDP and TCP (3478)
#   TURN_LISTEN_IP     address to listen on (all)
#   TURN_RELAY_IP      address relays are opened on (the listening one)
#   TURN_EXTERNAL_IP   public address announced for relays, "PUBLIC" or "PUBLIC/PRIVATE" (none)
#   TURN_ALLOWED_PEER_IPS  addresses a relay may send to although a denied
#                      range holds them (space-separated; none): coturn's own
#                      relay address, so that two relayed users can meet
#   TURN_MIN_PORT, TURN_MAX_PORT  the relay port range (49160-49200)
#   TURN_REALM         realm (serendip)
#   TURN_USER_QUOTA    allocations per credential (10)
#   TURN_TOTAL_QUOTA   allocations in all (1000)
#   TURN_MAX_BPS       bytes per second per allocation (375000, 3 Mbit/s)
#   TURN_BPS_CAPACITY  bytes per second for the whole server (0: no limit)
#   TURN_STATE_DIR     pid file and coturn's database (/var/lib/turn)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${TURN_SECRET:-}" ]; then
  echo "coturn/render.sh: TURN_SECRET is not set" >&2
  exit 2
fi
if [[ $TURN_SECRET =~ [[:space:]] ]]; then
  echo "coturn/render.sh: TURN_SECRET must not contain white space" >&2
  exit 2
fi
: "${TURN_PORT:=3478}" "${TURN_MIN_PORT:=49160}" "${TURN_MAX_PORT:=49200}" "${TURN_REALM:=serendip}"
: "${TURN_USER_QUOTA:=10}" "${TURN_TOTAL_QUOTA:=1000}" "${TURN_MAX_BPS:=375000}" "${TURN_BPS_CAPACITY:=0}"
: "${TURN_STATE_DIR:=/var/lib/turn}"
for v in TURN_PORT TURN_MIN_PORT TURN_MAX_PORT TURN_USER_QUOTA TURN_TOTAL_QUOTA TURN_MAX_BPS TURN_BPS_CAPACITY; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "coturn/render.sh: $v must be a number" >&2; exit 2; }
done
if [ "$TURN_MIN_PORT" -gt "$TURN_MAX_PORT" ]; then
  echo "coturn/render.sh: TURN_MIN_PORT is above TURN_MAX_PORT" >&2
  exit 2
fi

line() { if [ -n "$2" ]; then echo "$1=$2"; else echo "# $1: not set"; fi; }
TURN_LISTENING_IP_LINE=$(line listening-ip "${TURN_LISTEN_IP:-}")
TURN_RELAY_IP_LINE=$(line relay-ip "${TURN_RELAY_IP:-}")
TURN_EXTERNAL_IP_LINE=$(line external-ip "${TURN_EXTERNAL_IP:-}")
TURN_ALLOWED_PEER_IP_LINES=
for ip in ${TURN_ALLOWED_PEER_IPS:-}; do
  [[ $ip =~ ^[0-9a-fA-F.:]+$ ]] || { echo "coturn/render.sh: TURN_ALLOWED_PEER_IPS: not an address: $ip" >&2; exit 2; }
  TURN_ALLOWED_PEER_IP_LINES+="allowed-peer-ip=$ip"$'\n'
done
TURN_ALLOWED_PEER_IP_LINES=${TURN_ALLOWED_PEER_IP_LINES:-# allowed-peer-ip: not set$'\n'}
TURN_ALLOWED_PEER_IP_LINES=${TURN_ALLOWED_PEER_IP_LINES%$'\n'}
export TURN_SECRET TURN_PORT TURN_MIN_PORT TURN_MAX_PORT TURN_REALM TURN_USER_QUOTA TURN_TOTAL_QUOTA \
  TURN_MAX_BPS TURN_BPS_CAPACITY TURN_STATE_DIR TURN_LISTENING_IP_LINE TURN_RELAY_IP_LINE TURN_EXTERNAL_IP_LINE \
  TURN_ALLOWED_PEER_IP_LINES

vars='${TURN_SECRET} ${TURN_PORT} ${TURN_MIN_PORT} ${TURN_MAX_PORT} ${TURN_REALM} ${TURN_USER_QUOTA}
  ${TURN_TOTAL_QUOTA} ${TURN_MAX_BPS} ${TURN_BPS_CAPACITY} ${TURN_STATE_DIR}
  ${TURN_LISTENING_IP_LINE} ${TURN_RELAY_IP_LINE} ${TURN_EXTERNAL_IP_LINE} ${TURN_ALLOWED_PEER_IP_LINES}'
out=$(envsubst "$vars" <"$here/turnserver.conf.template")
if grep -nE '\$\{TURN_[A-Z0-9_]+\}' <<<"$out" >&2; then
  echo "coturn/render.sh: the template names a variable this script does not fill" >&2
  exit 2
fi
printf '%s\n' "$out"
