#!/usr/bin/env bash
# demo.sh - build relaygate, start it on 127.0.0.1:8080, register two demo
# relays and ask for TURN credentials the way a calling app would.
#
#   scripts/demo.sh          keep the gateway running afterwards (Ctrl-C stops it)
#   scripts/demo.sh --once   stop it after showing the answer
#
# The demo relays advertise documentation addresses (RFC 5737 and 3849),
# which the gateway accepts only because --allow-relay-networks allows
# those networks; nothing is sent to them: probing is off (--probe-interval
# 0). Tokens are HS256 JWTs made here with openssl.
set -euo pipefail
cd "$(dirname "$0")/.."

ONCE=0; [ "${1:-}" = "--once" ] && ONCE=1
LISTEN=${RELAYGATE_LISTEN:-127.0.0.1:8080}
URL="http://$LISTEN"
NODE_SECRET="demo-node-secret-0123456789abcdef0123"
USER_SECRET="demo-user-secret-0123456789abcdef0123"
ADMIN_SECRET="demo-admin-secret-0123456789abcdef012"

for b in go curl openssl; do command -v $b >/dev/null || { echo "demo.sh: needs $b" >&2; exit 2; }; done

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt() { # jwt SECRET SUBJECT -> HS256 token valid one hour
  local h p s
  h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  p=$(printf '{"sub":"%s","exp":%d}' "$2" $(( $(date +%s) + 3600 )) | b64url)
  s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$1" -binary | b64url)
  printf '%s.%s.%s' "$h" "$p" "$s"
}
pretty() { if command -v python3 >/dev/null; then python3 -m json.tool; else cat; fi; }

mkdir -p bin
go build -o bin/relaygate ./cmd/relaygate

bin/relaygate --listen "$LISTEN" \
  --turn-secrets "demo:demo-turn-secret-0123456789" \
  --node-jwt-secret "$NODE_SECRET" --user-jwt-secret "$USER_SECRET" --admin-jwt-secret "$ADMIN_SECRET" \
  --heartbeat-ttl 10m --probe-interval 0 --allow-relay-networks 203.0.113.0/24,2001:db8::/32 \
  2> >(sed 's/^/[relaygate] /' >&2) &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$URL/readyz" >/dev/null || { echo "demo.sh: gateway did not become ready" >&2; exit 1; }

register() { # register ID REGION SITE LAT LON ADDR
  curl -fsS -X PUT "$URL/v1/relays/$1" -H "Authorization: Bearer $(jwt "$NODE_SECRET" "$1")" \
    -H 'Content-Type: application/json' \
    -d "{\"region\":\"$2\",\"site\":\"$3\",\"latitude\":$4,\"longitude\":$5,\"addresses\":[\"$6\",\"2001:db8::$7\"],
         \"hostname\":\"$1.relay.example\",\"ports\":{\"udp\":3478,\"tcp\":3478,\"tls\":5349},
         \"capacity\":{\"allocations\":10000,\"bandwidth_bps\":1000000000},
         \"load\":{\"allocations\":120,\"bandwidth_bps\":32000000},\"version\":\"demo\"}" >/dev/null
  echo "registered relay $1 ($3)"
}
register fra-1 eu-central fra 50.11 8.68 203.0.113.5 5
register ams-2 eu-west ams 52.37 4.90 203.0.113.6 6

echo
echo "POST /v1/credentials (user token for subject 'alice'):"
curl -fsS -X POST "$URL/v1/credentials" -H "Authorization: Bearer $(jwt "$USER_SECRET" alice)" \
  -H 'Content-Type: application/json' -d '{"ttl_seconds":600}' | pretty

if [ $ONCE = 1 ]; then exit 0; fi
cat <<EOT

relaygate is running at $URL (Ctrl-C stops it). Try:
  curl -s $URL/v1/relays -H "Authorization: Bearer $(jwt "$ADMIN_SECRET" ops)"
  open $URL/docs for the API reference
The demo relays expire 10 minutes after registration.
EOT
wait $GW
