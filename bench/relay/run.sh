#!/usr/bin/env bash
# bench/relay/run.sh - relaynode against Debian's coturn under the same
# turnutils_uclient load, in one run, on loopback. See README.md.
#
#   bench/relay/run.sh [--clients "10 50 100"] [-n 5000] [-l 120] [-z 2]
#                      [--rounds 1] [--keep DIR] [--relaynode BIN]
#                      [--peer echopeer|turnutils]
#
# For every client count m and round it loads coturn, then relaynode (the
# order alternates between rounds), each with
#   turnutils_uclient -W SECRET -u bench -X -c -e 127.0.0.1 -r PEER_PORT \
#                     -p PORT -m M -n N -l L -z Z 127.0.0.1
# bounded by `timeout`, and prints one row per server plus the ratio
# relaynode/coturn. Everything binds 127.0.0.1; the script stops only the
# processes it started, by PID.
#
# Columns
#   offered   messages/s the clients try to send (m * 1000 / z)
#   relay_pps datagrams the relay forwards per second (both directions) =
#             2 * echoes/s, the median per-second echo rate while all
#             clients send (the plateau: send rate >= 90 % of its peak)
#   loss%     (sent - received) / sent over the whole run, as uclient counts
#   rtt avg/max  uclient's figures in ms; its clock ticks in whole ms, so
#             "0.01" means almost every echo came back within the same ms
#   cpu%      server process CPU, 90th percentile of 1-second samples
#             (100 = one core); us/echo = server CPU time of the whole run
#             divided by echoes received; us_plat = the same over the
#             plateau alone (the seconds in which uclient's echo rate is
#             >= 90 % of its peak, less the first and last), without
#             connection set-up, ramp and tail; -1 where there is none
#   kern%     the kernel's share of the server's CPU time over the run
#             (stime / (utime + stime)): system calls and the network stack
#   srv_drop, peer_drop  datagrams the kernel dropped for want of room in
#             the server's sockets (listener and relay ports) and in the echo
#             peer's, during the run: where the loss happened
#   peer_us   the echo peer's CPU time per echo in the same run. The peer is
#             bench/relay/echopeer (batched, one socket per CPU, the kernel's
#             default buffers) unless --peer turnutils picks coturn's
#             turnutils_peer (one recvfrom and one sendto per echo, 4 MB
#             buffers), the peer of the earlier figures in README.md.
# Verdict per client count: "ok" when relaynode's loss <= 0.5 % and its
# relay_pps >= coturn's (within 2 %, the run-to-run noise when both carry the
# whole offered load), else "SHORT"; "n/a" where coturn itself loses more
# than 0.5 % (the 2-core box, generator and echo peer included, is
# saturated: no server is being compared any more). The summary line gives
# each server's most relay_pps at <= 0.5 % loss.
set -u

die() { echo "run.sh: $*" >&2; exit 2; }

CLIENTS="10 50 100"; N=5000; L=120; Z=2; ROUNDS=1; KEEP=""; RN_BIN=""
PEER=echopeer; COTURN_PORT=3478; RN_PORT=3479; PEER_PORT=3480; SECRET="relaybench-secret-0123456789"
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2;;
    -n) N=$2; shift 2;;
    -l) L=$2; shift 2;;
    -z) Z=$2; shift 2;;
    --rounds) ROUNDS=$2; shift 2;;
    --keep) KEEP=$2; shift 2;;
    --relaynode) RN_BIN=$2; shift 2;;
    --coturn-port) COTURN_PORT=$2; shift 2;;
    --relaynode-port) RN_PORT=$2; shift 2;;
    --peer-port) PEER_PORT=$2; shift 2;;
    --peer) PEER=$2; shift 2;;
    -h|--help) sed -n '2,44p' "$0"; exit 0;;
    *) die "unknown option $1 (try --help)";;
  esac
done
for v in $CLIENTS $N $L $Z $ROUNDS; do
  case "$v" in ''|*[!0-9]*) die "numeric option expected, got '$v'";; esac
done
[ "$L" -ge 1 ] && [ "$Z" -ge 1 ] || die "-l and -z must be >= 1"
case "$PEER" in echopeer|turnutils) ;; *) die "--peer is echopeer or turnutils, not '$PEER'";; esac

for b in turnserver turnutils_uclient turnutils_peer timeout awk; do
  command -v "$b" >/dev/null || die "$b not found (apt-get install coturn)"
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d -t relaybench.XXXXXX)
[ -n "$KEEP" ] && mkdir -p "$KEEP"
STARTED=()
cleanup() {
  local p
  for p in "${STARTED[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  local i; for i in $(seq 1 30); do # relaynode drains for up to 1 s
    local alive=0; for p in "${STARTED[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.1
  done
  for p in "${STARTED[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# udp_listening PORT: something is bound to 127.0.0.1:PORT (or the wildcard)
udp_listening() {
  local hex; hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' /proc/net/udp
}
wait_listening() { # PORT PID NAME LOG
  local i
  for i in $(seq 1 50); do
    udp_listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || { tail -5 "$4" >&2; die "$3 exited at start-up"; }
    sleep 0.1
  done
  tail -5 "$4" >&2; die "$3 is not listening on 127.0.0.1:$1"
}
for p in "$COTURN_PORT" "$RN_PORT" "$PEER_PORT"; do
  udp_listening "$p" && die "UDP port $p is in use; pick another with --coturn-port/--relaynode-port/--peer-port"
done

# --- build and start -------------------------------------------------------
if [ -z "$RN_BIN" ]; then
  echo "# building relaynode" >&2
  (cd "$ROOT" && go build -o "$WORK/relaynode" ./cmd/relaynode) || die "go build failed"
  RN_BIN=$WORK/relaynode
fi

if [ "$PEER" = echopeer ]; then
  (cd "$ROOT" && go build -o "$WORK/echopeer" ./bench/relay/echopeer) || die "go build failed"
  "$WORK/echopeer" -listen "127.0.0.1:$PEER_PORT" >"$WORK/peer.log" 2>&1 &
else
  turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$WORK/peer.log" 2>&1 &
fi
PEER_PID=$!; STARTED+=("$PEER_PID")
wait_listening "$PEER_PORT" "$PEER_PID" "$PEER" "$WORK/peer.log"

# coturn: REST auth with the same secret, loopback peers allowed, no TLS/DTLS,
# its default threading (one relay thread per CPU).
cat >"$WORK/coturn.conf" <<EOF
listening-ip=127.0.0.1
listening-port=$COTURN_PORT
relay-ip=127.0.0.1
min-port=45000
max-port=49999
realm=relaybench
use-auth-secret
static-auth-secret=$SECRET
no-tcp
no-tls
no-dtls
no-cli
allow-loopback-peers
fingerprint
simple-log
log-file=$WORK/coturn.log
pidfile=$WORK/coturn.pid
EOF
turnserver -c "$WORK/coturn.conf" >"$WORK/coturn.out" 2>&1 &
COTURN_PID=$!; STARTED+=("$COTURN_PID")
wait_listening "$COTURN_PORT" "$COTURN_PID" coturn "$WORK/coturn.out"

"$RN_BIN" --listen-udp "127.0.0.1:$RN_PORT" --listen-tcp off --secrets "bench:$SECRET" \
  --allow-peers 127.0.0.0/8 --relay-ports 40000-44999 --realm relaybench --log-level warn --drain-timeout 1s \
  >"$WORK/relaynode.log" 2>&1 &
RN_PID=$!; STARTED+=("$RN_PID")
wait_listening "$RN_PORT" "$RN_PID" relaynode "$WORK/relaynode.log"

CK=$(getconf CLK_TCK)
# cpu_ticks PID [sys]: utime+stime of the whole process (with "sys":
# stime alone, the kernel's share), no fork
cpu_ticks() {
  local s
  read -r s <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
  s=${s##*) }
  local f; read -r -a f <<<"$s"
  if [ "${2:-}" = sys ]; then echo "${f[12]}"; else echo $((f[11] + f[12])); fi
}

# udp_drops LO HI [LO HI]: datagrams the kernel dropped (receive buffer
# full) on the open UDP sockets bound to 127.0.0.1 ports in the ranges
udp_drops() {
  awk -v r="$*" 'BEGIN { n = split(r, R, " ") }
    NR > 1 { split($2, a, ":"); p = strtonum("0x" a[2])
      for (i = 1; i < n; i += 2) if (p >= R[i] && p <= R[i + 1]) { d += $NF; break } }
    END { print d + 0 }' /proc/net/udp
}

# run_load NAME PORT PID M RELAYLO RELAYHI -> prints one "ROW ..." line on stdout
run_load() {
  local name=$1 port=$2 spid=$3 m=$4 rlo=$5 rhi=$6
  local out="$WORK/uclient.$name.m$m.$RANDOM.out" smp="$WORK/cpu.$name.m$m.$RANDOM.txt"
  # connect ~0.15 s per client, random start of 1-6 s, the send time, a drain
  local tmo; tmo=$(awk -v m="$m" -v n="$N" -v z="$Z" 'BEGIN { printf "%d", 60 + m * 0.15 + n * z / 1000 * 1.5 }')
  local t0 p0 k0; t0=$(cpu_ticks "$spid"); p0=$(cpu_ticks "$PEER_PID"); k0=$(cpu_ticks "$spid" sys)
  # the server's sockets (listener and relay ports) live while uclient runs:
  # their drop counters are read each second, the last reading counts
  local pd0 sd0 sd; pd0=$(udp_drops "$PEER_PORT" "$PEER_PORT"); sd0=$(udp_drops "$port" "$port" "$rlo" "$rhi"); sd=$sd0
  timeout "$tmo" turnutils_uclient -W "$SECRET" -u bench -X -c -e 127.0.0.1 -r "$PEER_PORT" \
    -p "$port" -m "$m" -n "$N" -l "$L" -z "$Z" 127.0.0.1 >"$out" 2>&1 &
  local upid=$!
  : >"$smp"
  while kill -0 "$upid" 2>/dev/null; do
    echo "${EPOCHREALTIME} $(cpu_ticks "$spid") $(tail -c 600 "$out" | grep -o 'tot_recv_msgs=[0-9]*' | tail -1 | cut -d= -f2)" >>"$smp"
    sd=$(udp_drops "$port" "$port" "$rlo" "$rhi")
    sleep 1
  done
  wait "$upid"; local rc=$?
  local t1 p1 k1; t1=$(cpu_ticks "$spid"); p1=$(cpu_ticks "$PEER_PID"); k1=$(cpu_ticks "$spid" sys)
  local pdrop=$(($(udp_drops "$PEER_PORT" "$PEER_PORT") - pd0)) sdrop=$((sd - sd0))
  [ -n "$KEEP" ] && cp "$out" "$smp" "$KEEP/"
  kill -0 "$spid" 2>/dev/null || die "$name died during the run"
  awk -v name="$name" -v m="$m" -v z="$Z" -v rc="$rc" -v ck="$CK" -v dt="$((t1 - t0))" -v pdt="$((p1 - p0))" -v smp="$smp" -v sdrop="$sdrop" -v pdrop="$pdrop" -v kdt="$((k1 - k0))" '
    function sort(a, k,   i, j, t) { for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    /start_mclient: msz=/ {
      s = $0; r = $0; sub(/.*tot_send_msgs=/, "", s); sub(/,.*/, "", s); sub(/.*tot_recv_msgs=/, "", r); sub(/,.*/, "", r)
      k++; T[k] = $1 + 0; S[k] = s + 0; R[k] = r + 0 }
    /start_mclient: tot_send_msgs=/ { s = $0; r = $0; sub(/.*tot_send_msgs=/, "", s); sub(/,.*/, "", s); sub(/.*tot_recv_msgs=/, "", r); sent = s + 0; recv = r + 0 }
    /Average round trip delay/ { x = $0; sub(/.*delay /, "", x); rtt = x + 0; y = $0; sub(/.*max = /, "", y); rttmax = y + 0 }
    END {
      peak = 0; nr = 0
      for (i = 2; i <= k; i++) { d = T[i] - T[i - 1]; if (d <= 0) continue
        nr++; SR[nr] = (S[i] - S[i - 1]) / d; RR[nr] = (R[i] - R[i - 1]) / d; if (SR[nr] > peak) peak = SR[nr] }
      np = 0
      for (i = 1; i <= nr; i++) if (peak > 0 && SR[i] >= 0.9 * peak) { np++; P[np] = RR[i] }
      sort(P, np); echo = np ? P[int((np + 1) / 2)] : 0
      ns = 0
      while ((getline line < smp) > 0) { split(line, f, " "); ns++; ST[ns] = f[1]; SV[ns] = f[2]; SE[ns] = f[3] + 0 }
      # CPU per echo over the plateau alone: the 1-s samples hold the
      # server CPU and the echo count uclient printed last, read together; the
      # plateau is the span of samples whose echo rate is >= 90 % of the
      # peak, less its first and last second when it is long enough
      plat = -1; speak = 0; sf = 0
      for (i = 2; i <= ns; i++) if (ST[i] > ST[i - 1]) { ER[i] = (SE[i] - SE[i - 1]) / (ST[i] - ST[i - 1]); if (ER[i] > speak) speak = ER[i] }
      for (i = 2; i <= ns; i++) if (speak > 0 && ER[i] >= 0.9 * speak) { if (!sf) sf = i; sl = i }
      if (sf) {
        wa = sf - 1; wb = sl
        if (sl - sf >= 2) { wa = sf; wb = sl - 1 }
        if (SE[wb] > SE[wa]) plat = (SV[wb] - SV[wa]) / ck * 1e6 / (SE[wb] - SE[wa])
      }
      nc = 0
      for (i = 2; i <= ns; i++) if (ST[i] > ST[i - 1]) { nc++; C[nc] = (SV[i] - SV[i - 1]) / ck / (ST[i] - ST[i - 1]) * 100 }
      sort(C, nc); cpu = nc ? C[int(nc * 0.9 + 0.5) < 1 ? 1 : int(nc * 0.9 + 0.5)] : 0
      loss = sent > 0 ? (sent - recv) * 100 / sent : 100
      us = recv > 0 ? dt / ck * 1e6 / recv : 0
      pus = recv > 0 ? pdt / ck * 1e6 / recv : 0
      printf "ROW %s %d %d %d %.3f %.2f %d %.0f %.1f %d %d %d %d %.1f %d %d %.1f %.0f\n", name, m, m * 1000 / z, 2 * echo, loss, rtt, rttmax, cpu, us, sent, recv, np, rc, pus, sdrop, pdrop, plat, (dt > 0 ? kdt * 100 / dt : 0)
    }' "$out"
  if [ "$rc" != 0 ]; then
    echo "# $name m=$m: uclient rc=$rc (124 = timeout); last lines:" >&2
    tail -3 "$out" >&2
  fi
}

echo "# coturn $(turnserver --version 2>/dev/null | head -1) pid $COTURN_PID, relaynode pid $RN_PID, peer pid $PEER_PID" >&2
echo "# load: turnutils_uclient -X -c -m {$CLIENTS} -n $N -l $L -z $Z, $ROUNDS round(s), $(nproc) CPUs" >&2
ROWS=$WORK/rows
: >"$ROWS"
for m in $CLIENTS; do
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="coturn relaynode"; else order="relaynode coturn"; fi
    for srv in $order; do
      for try in 1 2; do # uclient sometimes gives up in its allocate phase (rc 255, nothing sent): retry once
        if [ "$srv" = coturn ]; then row=$(run_load coturn "$COTURN_PORT" "$COTURN_PID" "$m" 45000 49999)
        else row=$(run_load relaynode "$RN_PORT" "$RN_PID" "$m" 40000 44999); fi
        set -- $row
        [ "$try" = 1 ] && [ "${11:-0}" = 0 ] && [ "${14:-0}" != 0 ] && { echo "# $srv m=$m: retrying" >&2; sleep 2; continue; }
        break
      done
      echo "$row" | tee -a "$ROWS" | sed 's/^ROW /# /' >&2
      sleep 2 # let the last run's stragglers drain before the next one
    done
  done
done

# Table: per client count and server, the median over rounds of each figure.
awk -v l="$L" -v z="$Z" -v n="$N" '
  function med(key, col,   k, i, j, t, a) { k = cnt[key]; for (i = 1; i <= k; i++) a[i] = V[key, i, col]
    for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return k ? a[int((k + 1) / 2)] : 0 }
  function medp(key,   k, i, j, t, a, n) { n = 0; for (i = 1; i <= cnt[key]; i++) if (V[key, i, 18] >= 0) a[++n] = V[key, i, 18]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n ? a[int((n + 1) / 2)] : -1 }
  function lo(key, col,   i, x) { x = V[key, 1, col]; for (i = 2; i <= cnt[key]; i++) if (V[key, i, col] < x) x = V[key, i, col]; return x }
  function hi(key, col,   i, x) { x = V[key, 1, col]; for (i = 2; i <= cnt[key]; i++) if (V[key, i, col] > x) x = V[key, i, col]; return x }
  $1 == "ROW" { key = $3 SUBSEP $2; c = ++cnt[key]; for (i = 4; i <= NF; i++) V[key, c, i] = $i; if (!($3 in seen)) { seen[$3] = 1; ms[++nm] = $3 } }
  END {
    printf "relay benchmark: turnutils_uclient -n %d -l %d -z %d, UDP, ChannelData, loopback\n", n, l, z
    printf "%-7s %-10s %8s %10s %7s %8s %8s %5s %7s %7s %5s %7s %8s %9s   %s\n", "clients", "server", "offered", "relay_pps", "loss%", "rtt_avg", "rtt_max", "cpu%", "us/echo", "us_plat", "kern%", "peer_us", "srv_drop", "peer_drop", "rounds: rtt_avg, us/echo, us_plat min/med/max"
    ok = 1
    for (i = 1; i <= nm; i++) { m = ms[i]
      for (s = 0; s < 2; s++) { srv = s ? "relaynode" : "coturn"; key = m SUBSEP srv
        P[srv] = med(key, 5); LS[srv] = med(key, 6)
        printf "%-7d %-10s %8d %10d %7.3f %8.2f %8d %5d %7.1f %7.1f %5d %7.1f %8d %9d   %.2f/%.2f/%.2f ms, %.1f/%.1f/%.1f us, %.1f/%.1f/%.1f us\n", m, srv, med(key, 4), P[srv], LS[srv], med(key, 7), med(key, 8), med(key, 9), med(key, 10), medp(key), med(key, 19), med(key, 15), med(key, 16), med(key, 17), lo(key, 7), med(key, 7), hi(key, 7), lo(key, 10), med(key, 10), hi(key, 10), lo(key, 18), medp(key), hi(key, 18) }
      ratio = P["coturn"] > 0 ? P["relaynode"] / P["coturn"] : 0
      U["coturn"] = med(m SUBSEP "coturn", 10); U["relaynode"] = med(m SUBSEP "relaynode", 10)
      uratio = U["coturn"] > 0 ? U["relaynode"] / U["coturn"] : 0
      Q["coturn"] = medp(m SUBSEP "coturn"); Q["relaynode"] = medp(m SUBSEP "relaynode")
      pratio = Q["coturn"] > 0 ? Q["relaynode"] / Q["coturn"] : 0
      for (s = 0; s < 2; s++) { srv = s ? "relaynode" : "coturn"; if (LS[srv] <= 0.5 && P[srv] > best[srv]) best[srv] = P[srv] }
      if (LS["coturn"] > 0.5) v = "n/a (coturn itself loses > 0.5 %: the box is saturated)"
      else { v = (LS["relaynode"] <= 0.5 && ratio >= 0.98) ? "ok" : "SHORT"; if (v != "ok") ok = 0 }
      printf "%-7d %-10s %8s %10.3f %7s  (relaynode/coturn relay_pps; us/echo ratio %.2f, on the plateau %.2f; relaynode loss %.3f%% vs coturn %.3f%%) %s\n", m, "ratio", "", ratio, "", uratio, pratio, LS["relaynode"], LS["coturn"], v }
    printf "most relay_pps at loss <= 0.5%%: coturn %d, relaynode %d (ratio %.3f)\n", best["coturn"], best["relaynode"], (best["coturn"] > 0 ? best["relaynode"] / best["coturn"] : 0)
    printf "target (relaynode >= coturn pps at loss <= 0.5%%, wherever coturn holds it): %s\n", (ok ? "met" : "NOT met")
  }' "$ROWS"
