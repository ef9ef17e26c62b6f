#!/usr/bin/env bash
# bench/soak/run.sh - the reliability soak: relaygate and relaynodes on
# loopback under saturating credential load, probing, heartbeats and TURN
# allocation churn for a bounded time (default 5 minutes). See README.md,
# "Reliability".
#
#   bench/soak/run.sh [--duration 5m] [--warmup 20s] [--relays 3] [--conns 16]
#                     [--churners 8] [--redis-url URL] [-- extra relaygate flags]
#
# It builds relaygate, relaynode and the soak driver, starts them on
# 127.0.0.1 (free ports), prints a progress line every 30 s and the verdicts:
# no 5xx, RSS and goroutines flat from the start to the end of the measured
# window, no ERROR lines. It stops only the processes it started. With
# --redis-url the gateway keeps its registry in that Redis under a unique
# prefix whose keys are deleted afterwards.
set -u
die() { echo "run.sh: $*" >&2; exit 2; }

ARGS=(); GW_ARGS=(); REDIS_URL=""; PREFIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration|--warmup|--relays|--conns|--churners) ARGS+=("-${1#--}" "$2"); shift 2;;
    --redis-url) REDIS_URL=$2; shift 2;;
    --) shift; GW_ARGS+=("$@"); break;;
    -h|--help) sed -n '2,16p' "$0"; exit 0;;
    *) die "unknown option $1 (try --help)";;
  esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/relaygate-soak.XXXXXX)
cleanup() {
  if [ -n "$PREFIX" ]; then
    redis-cli -u "$REDIS_URL" --scan --pattern "${PREFIX}*" 2>/dev/null |
      xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building relaygate, relaynode and the soak driver ($(go version | cut -d' ' -f3))"
(cd "$ROOT" && go build -o "$WORK/relaygate" ./cmd/relaygate && go build -o "$WORK/relaynode" ./cmd/relaynode &&
  go build -o "$WORK/soak" ./bench/soak) || die "build failed"
if [ -n "$REDIS_URL" ]; then
  PREFIX="relaygate-soak-$$-$(date +%s):"
  GW_ARGS+=(--redis-url "$REDIS_URL" --redis-prefix "$PREFIX")
fi
"$WORK/soak" -bin "$WORK" "${ARGS[@]}" -gateway-args "${GW_ARGS[*]}"
