#!/usr/bin/env bash
# demo.sh - the quick start: build relaygate, relaynode and relayctl, start
# the gateway on 127.0.0.1:8080 and a real relaynode on 127.0.0.1:3478
# (UDP and TCP) heartbeating into it, ask for TURN credentials the way a
# calling app would, and check the relay end to end with relayctl (a real
# allocation, packets relayed and echoed back).
#
#   scripts/demo.sh                keep both running afterwards (Ctrl-C stops them)
#   scripts/demo.sh --once         stop them after the check
#   scripts/demo.sh --fake-relays  no relaynode: register two demo relays at
#                                  documentation addresses instead (nothing is
#                                  sent to them; probing is off)
#
# Everything listens on loopback, which the gateway accepts as a relay
# address only because --allow-relay-networks 127.0.0.0/8 says so, and the
# relay accepts as a peer (relayctl's echo) only because --allow-peers does.
# Tokens are HS256 JWTs made here with openssl. RELAYGATE_LISTEN and
# RELAYNODE_LISTEN move the two off their default ports; DEMO_BIN puts the
# binaries and logs in another folder than bin/.
set -euo pipefail
cd "$(dirname "$0")/.."

ONCE=0; FAKE=0
for a in "$@"; do
  case "$a" in
    --once) ONCE=1;;
    --fake-relays) FAKE=1;;
    -h|--help) sed -n '2,18p' "$0"; exit 0;;
    *) echo "demo.sh: unknown option $a (try --help)" >&2; exit 2;;
  esac
done
LISTEN=${RELAYGATE_LISTEN:-127.0.0.1:8080}
RELAY_LISTEN=${RELAYNODE_LISTEN:-127.0.0.1:3478}
URL="http://$LISTEN"
BIN=${DEMO_BIN:-bin}
NODE_SECRET="demo-node-secret-0123456789abcdef0123"
USER_SECRET="demo-user-secret-0123456789abcdef0123"
ADMIN_SECRET="demo-admin-secret-0123456789abcdef012"
TURN_SECRET="demo:demo-turn-secret-0123456789"

for b in go curl openssl; do command -v $b >/dev/null || { echo "demo.sh: needs $b" >&2; exit 2; }; done

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt() { # jwt SECRET SUBJECT -> HS256 token valid one hour
  local h p s now
  now=$(date +%s)
  h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  p=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$2" "$now" $(( now + 3600 )) | b64url)
  s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$1" -binary | b64url)
  printf '%s.%s.%s' "$h" "$p" "$s"
}
pretty() { if command -v python3 >/dev/null; then python3 -m json.tool; else cat; fi; }

mkdir -p "$BIN"
echo "building $BIN/relaygate, $BIN/relaynode, $BIN/relayctl"
go build -o "$BIN/" ./cmd/relaygate ./cmd/relaynode ./cmd/relayctl

PIDS=()
stop() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT

if [ $FAKE = 1 ]; then
  GW_ARGS=(--heartbeat-ttl 10m --probe-interval 0 --allow-relay-networks 203.0.113.0/24,2001:db8::/32)
else
  # --demo: GET /demo/token mints user tokens for the /demo page (loopback only).
  GW_ARGS=(--probe-interval 2s --allow-relay-networks 127.0.0.0/8 --demo)
fi
"$BIN/relaygate" --listen "$LISTEN" --turn-secrets "$TURN_SECRET" \
  --node-jwt-secret "$NODE_SECRET" --user-jwt-secret "$USER_SECRET" --admin-jwt-secret "$ADMIN_SECRET" \
  "${GW_ARGS[@]}" 2>"$BIN/relaygate.log" &
PIDS+=($!)
for _ in $(seq 300); do curl -fs "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$URL/readyz" >/dev/null || { echo "demo.sh: the gateway did not become ready at $URL; $BIN/relaygate.log says:" >&2; tail -5 "$BIN/relaygate.log" >&2; exit 1; }
echo "relaygate on $URL (log: $BIN/relaygate.log)"

ADMIN=$(jwt "$ADMIN_SECRET" ops)
if [ $FAKE = 1 ]; then
  register() { # register ID REGION SITE LAT LON ADDR
    curl -fsS -X PUT "$URL/v1/relays/$1" -H "Authorization: Bearer $(jwt "$NODE_SECRET" "$1")" \
      -H 'Content-Type: application/json' \
      -d "{\"region\":\"$2\",\"site\":\"$3\",\"latitude\":$4,\"longitude\":$5,\"addresses\":[\"$6\",\"2001:db8::$7\"],
           \"hostname\":\"$1.relay.example\",\"ports\":{\"udp\":3478,\"tcp\":3478,\"tls\":5349},
           \"capacity\":{\"allocations\":10000,\"bandwidth_bps\":1000000000},
           \"load\":{\"allocations\":120,\"bandwidth_bps\":32000000},\"version\":\"demo\"}" >/dev/null
    echo "registered demo relay $1 ($3)"
  }
  register fra-1 eu-central fra 50.11 8.68 203.0.113.5 5
  register ams-2 eu-west ams 52.37 4.90 203.0.113.6 6
else
  RELAYNODE_SECRETS="$TURN_SECRET" RELAYNODE_NODE_TOKEN=$(jwt "$NODE_SECRET" lo-1) \
    "$BIN/relaynode" --id lo-1 --region local --site loopback --lat 50.11 --lon 8.68 \
    --listen-udp "$RELAY_LISTEN" --listen-tcp "$RELAY_LISTEN" --relay-ports 50000-50999 \
    --allow-peers 127.0.0.0/8 --gateway-url "$URL" \
    2>"$BIN/relaynode.log" &
  PIDS+=($!)
  # Registered, and probed by the gateway (its probe health turns "up").
  up=0
  for _ in $(seq 300); do
    if curl -fs "$URL/v1/relays" -H "Authorization: Bearer $ADMIN" 2>/dev/null | grep -q '"health":"up"'; then up=1; break; fi
    sleep 0.1
  done
  [ $up = 1 ] || { echo "demo.sh: relaynode lo-1 did not come up in the gateway's registry; $BIN/relaynode.log says:" >&2; tail -5 "$BIN/relaynode.log" >&2; exit 1; }
  echo "relaynode lo-1 on $RELAY_LISTEN (UDP, TCP) registered and probed (log: $BIN/relaynode.log)"
fi

USER_TOKEN=$(jwt "$USER_SECRET" alice)
echo
echo "POST /v1/credentials (user token for subject 'alice'):"
curl -fsS -X POST "$URL/v1/credentials" -H "Authorization: Bearer $USER_TOKEN" \
  -H 'Content-Type: application/json' -d '{"ttl_seconds":600}' | pretty

if [ $FAKE = 0 ]; then
  echo
  echo "relayctl check: credentials from the gateway, an allocation on the relay it offers, packets through it:"
  "$BIN/relayctl" --gateway "$URL" --token "$USER_TOKEN" check --count 10
fi

if [ $ONCE = 1 ]; then exit 0; fi
cat <<EOT

relaygate is running at $URL (Ctrl-C stops everything). Where to look:
  $URL/demo                  a relay-only call in your browser through relaynode lo-1 (no token needed)
  $URL/docs                  the API reference
  $URL/metrics               the gateway's metrics
  $BIN/relaygate.log, $BIN/relaynode.log   their logs (JSON lines)
  curl -s $URL/v1/relays -H "Authorization: Bearer $ADMIN"
EOT
if [ $FAKE = 0 ]; then
  cat <<EOT
  $BIN/relayctl --gateway $URL --token $USER_TOKEN check
                             check the relay again (a user token valid one hour)
EOT
else
  echo "The demo relays expire 10 minutes after registration."
fi
wait "${PIDS[0]}"
