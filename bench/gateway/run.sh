#!/usr/bin/env bash
# bench/gateway/run.sh - load bench of the relaygate gateway: POST
# /v1/credentials beside GET /healthz on the same server, in the same run,
# with 10,000 registered relays. See README.md.
#
#   bench/gateway/run.sh [--relays 10000] [--conns 16] [--duration 5s]
#                        [--rounds 2] [--warmup 2s] [--max-requests 2000000]
#                        [--config memory|redis|both] [--redis-url URL]
#                        [--pin] [--log-level info] [--keep DIR]
#                        [--new-tokens 100000] [--clients located|unlocated]
#                        [--limits off|on|both]
#
# For each configuration it builds relaygate and bench/gateway/loadgen,
# starts relaygate on 127.0.0.1 (random free port) with --probe-interval 0,
# random HS256 user/node/admin secrets and --heartbeat-ttl 10m, then runs
# loadgen, which registers the relays, loads /healthz and /v1/credentials
# in interleaved rounds and prints the table and verdicts. Only 127.0.0.1
# is ever sent to: relay addresses are data from 198.18.0.0/15 and
# 2001:db8::/32, and probing is off.
#
# --clients located (the default) puts the clients where production ones
# are: behind a proxy the gateway trusts (--trusted-proxies 127.0.0.1/32),
# at addresses (10.0.0.0/8, data only) that a GeoIP database loadgen writes
# places in the relays' cities, so selection takes the geo basis.
# --clients unlocated sends from 127.0.0.1, which GeoIP cannot place.
#
# Credentials are loaded twice per round: each connection reusing its own
# user token (as a client does while it holds one), and with --new-tokens
# tokens taken in turn, more than the gateway's token cache holds, so every
# token is verified in full (0 skips that phase).
#
# --limits on starts relaygate with every rate-limit scope on at 1000000/1s,
# a rule the bench's reused tokens (a few thousand requests a second each)
# never reach: it measures what counting costs (the in-memory buckets, and
# on Redis the background syncs) with no request refused. --limits off turns
# every scope off; both (the default) runs off, then on, per configuration.
#
# --config redis (or both) also runs against Redis (--redis-url, default
# redis://127.0.0.1:6379/0) under a unique --redis-prefix whose keys are
# deleted afterwards. --pin puts the server on CPU 1 and loadgen on CPU 0
# (taskset); without it both share both cores (see README.md).
# The script stops only the processes it started, by PID.
set -u

die() { echo "run.sh: $*" >&2; exit 2; }

RELAYS=10000; CONNS=16; DURATION=5s; ROUNDS=2; WARMUP=2s; MAXREQ=2000000
CONFIG=both; REDIS_URL=redis://127.0.0.1:6379/0; PIN=0; LOGLEVEL=info; KEEP=""; NEWTOKENS=100000; CLIENTS=located; LIMITS=both
LG_PROCS=${LOADGEN_GOMAXPROCS:-2}; SRV_PROCS=${SERVER_GOMAXPROCS:-2}
while [ $# -gt 0 ]; do
  case "$1" in
    --relays) RELAYS=$2; shift 2;;
    --conns) CONNS=$2; shift 2;;
    --duration) DURATION=$2; shift 2;;
    --rounds) ROUNDS=$2; shift 2;;
    --warmup) WARMUP=$2; shift 2;;
    --max-requests) MAXREQ=$2; shift 2;;
    --config) CONFIG=$2; shift 2;;
    --redis-url) REDIS_URL=$2; shift 2;;
    --pin) PIN=1; shift;;
    --log-level) LOGLEVEL=$2; shift 2;;
    --keep) KEEP=$2; shift 2;;
    --new-tokens) NEWTOKENS=$2; shift 2;;
    --clients) CLIENTS=$2; shift 2;;
    --limits) LIMITS=$2; shift 2;;
    -h|--help) sed -n '2,42p' "$0"; exit 0;;
    *) die "unknown option $1 (try --help)";;
  esac
done
case "$CONFIG" in memory|redis|both) ;; *) die "--config memory|redis|both";; esac
case "$CLIENTS" in located|unlocated) ;; *) die "--clients located|unlocated";; esac
case "$LIMITS" in off|on|both) ;; *) die "--limits off|on|both";; esac
limit_modes() { [ "$LIMITS" = both ] && echo "off on" || echo "$LIMITS"; }
# rate_args MODE: relaygate's rate-limit flags for limits off or on (unhit).
rate_args() {
  local rule=off s
  [ "$1" = on ] && rule=1000000/1s
  for s in user prefix measurements relay; do printf -- '--rate-%s %s ' "$s" "$rule"; done
}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${KEEP:-$(mktemp -d /tmp/relaygate-gwbench.XXXXXX)}
mkdir -p "$WORK"
SERVER_PID=""; REDIS_PREFIX=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
  if [ -n "$REDIS_PREFIX" ]; then
    # Only keys under our unique prefix; SCAN, not KEYS, so Redis never blocks.
    # Rate-limit budgets are redis_rate's keys, rate:<prefix>...
    for p in "${REDIS_PREFIX}" "rate:${REDIS_PREFIX}"; do
      redis-cli -u "$REDIS_URL" --scan --pattern "${p}*" 2>/dev/null |
        xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1
    done
    left=$(redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null | wc -l)
    echo "redis: deleted keys under ${REDIS_PREFIX} (${left} left)"
    REDIS_PREFIX=""
  fi
}
trap 'cleanup; [ -z "$KEEP" ] && rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

echo "building relaygate and loadgen ($(go version | cut -d' ' -f3))"
(cd "$ROOT" && go build -o "$WORK/relaygate" ./cmd/relaygate && go build -o "$WORK/loadgen" ./bench/gateway/loadgen) ||
  die "build failed"

GEO_ARGS=(); LG_GEO=(-located=false)
if [ "$CLIENTS" = located ]; then
  "$WORK/loadgen" -write-geoip-db "$WORK/bench-city.mmdb" || die "writing the bench GeoIP database failed"
  GEO_ARGS=(--geoip-db "$WORK/bench-city.mmdb" --trusted-proxies 127.0.0.1/32); LG_GEO=(-located=true)
fi

secret() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n'; }
export BENCH_USER_SECRET="bench-user-$(secret)"
export BENCH_NODE_SECRET="bench-node-$(secret)"
export BENCH_ADMIN_SECRET="bench-admin-$(secret)"

srv_cmd=(); lg_cmd=()
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || die "--pin needs taskset"
  srv_cmd=(taskset -c 1); lg_cmd=(taskset -c 0)
  SRV_PROCS=1; LG_PROCS=1
fi

bench_one() { # name, extra relaygate args...
  local name=$1; shift
  local log="$WORK/relaygate-$name.log"
  # Secrets go through the environment (relaygate reads RELAYGATE_<FLAG>),
  # not argv, so they do not show in ps.
  GOMAXPROCS=$SRV_PROCS RELAYGATE_USER_JWT_SECRET=$BENCH_USER_SECRET \
    RELAYGATE_NODE_JWT_SECRET=$BENCH_NODE_SECRET RELAYGATE_ADMIN_JWT_SECRET=$BENCH_ADMIN_SECRET \
    "${srv_cmd[@]}" "$WORK/relaygate" \
    --listen 127.0.0.1:0 --probe-interval 0 --heartbeat-ttl 10m --log-level "$LOGLEVEL" \
    --allow-relay-networks 198.18.0.0/15,2001:db8::/32 \
    --replica bench "${GEO_ARGS[@]}" "$@" 2>"$log" &
  SERVER_PID=$!
  local addr="" i
  for i in $(seq 100); do
    addr=$(grep -o '"msg":"relaygate listening","addr":"[^"]*"' "$log" 2>/dev/null | sed 's/.*"addr":"\([^"]*\)"/\1/')
    [ -n "$addr" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "relaygate exited"; }
    sleep 0.1
  done
  [ -n "$addr" ] || die "relaygate did not report its address"
  case "$addr" in 127.*) ;; *) die "relaygate listens on $addr, not loopback";; esac
  echo
  echo "relaygate ($name) pid $SERVER_PID on $addr: GOMAXPROCS=$SRV_PROCS, --probe-interval 0, --log-level $LOGLEVEL ${GEO_ARGS[*]} $*" |
    sed "s#--redis-url [^ ]*#--redis-url $REDIS_URL#"
  GOMAXPROCS=$LG_PROCS "${lg_cmd[@]}" "$WORK/loadgen" -addr "$addr" -server-pid "$SERVER_PID" -label "$name" \
    -relays "$RELAYS" -conns "$CONNS" -duration "$DURATION" -rounds "$ROUNDS" -warmup "$WARMUP" \
    -max-requests "$MAXREQ" -new-tokens "$NEWTOKENS" "${LG_GEO[@]}"
  local rc=$?
  echo "server log: $(wc -l <"$log") lines, $(grep -c '"level":"ERROR"' "$log") errors, $(grep -c '"level":"WARN"' "$log") warnings"
  cleanup
  return $rc
}

rc=0
for mode in $(limit_modes); do
  if [ "$CONFIG" != redis ]; then
    bench_one "memory-limits-$mode" $(rate_args "$mode") || rc=1
  fi
  if [ "$CONFIG" != memory ]; then
    if redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
      REDIS_PREFIX="relaygate-gwbench-$$-$(date +%s):"
      bench_one "redis-limits-$mode" --redis-url "$REDIS_URL" --redis-prefix "$REDIS_PREFIX" $(rate_args "$mode") || rc=1
    else
      echo "redis at $REDIS_URL not reachable: redis configuration skipped"
    fi
  fi
done
exit $rc
