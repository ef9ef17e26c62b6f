#!/usr/bin/env bash
# bench/relay/syscalls.sh - system calls per echo of coturn and relaynode,
# counted with perf's syscall tracepoints during a bench/relay/run.sh run.
#
#   bench/relay/syscalls.sh [--clients 50] [--relaynode BIN]
#
# Runs `run.sh --clients M -n 10000 --rounds 1` (coturn first, then
# relaynode) and, once every client sends, counts each server's system
# calls for 4 s with `perf stat -p` (all its threads). The offered load is
# M * 500 echoes/s; at 0 % loss that is the echo rate of the window, which
# the per-echo figures divide by (check the loss column run.sh prints).
# Needs Debian's linux-perf and what run.sh needs.
set -u
M=50; RN=()
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) M=$2; shift 2;;
    --relaynode) RN=(--relaynode "$2"); shift 2;;
    *) echo "syscalls.sh: unknown option $1" >&2; exit 2;;
  esac
done
command -v perf >/dev/null || { echo "syscalls.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
DIR=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -t syscalls.XXXXXX)
trap 'rm -f "$OUT"' EXIT
EVENTS=raw_syscalls:sys_enter
for s in epoll_wait epoll_pwait recvmsg recvmmsg sendto sendmsg sendmmsg futex; do EVENTS+=,syscalls:sys_enter_$s; done

"$DIR/run.sh" --clients "$M" -n 10000 --rounds 1 "${RN[@]}" >"$OUT" 2>&1 &
RUN=$!
ramp=$(awk -v m="$M" 'BEGIN { printf "%d", 7.5 + m * 0.15 }') # connect ~0.15 s per client, starts spread over 1-6 s
for srv in coturn relaynode; do
  for _ in $(seq 1 600); do grep -q "relaynode pid" "$OUT" && break; sleep 0.1; done
  if [ "$srv" = coturn ]; then port=3478; pid=$(sed -n 's/.* pid \([0-9]*\), relaynode pid.*/\1/p' "$OUT")
  else port=3479; pid=$(sed -n 's/.*relaynode pid \([0-9]*\),.*/\1/p' "$OUT"); fi
  for _ in $(seq 1 600); do pgrep -f "uclient.* -p $port " >/dev/null && break; sleep 0.1; done
  sleep "$ramp"
  perf stat -x, -e "$EVENTS" -p "$pid" -- sleep 4 2>&1 | awk -F, -v srv="$srv" -v rate="$((M * 500))" '
    $3 ~ /sys_enter/ { n = $1; ev = $3; sub(/.*sys_enter_?/, "", ev); if (ev == "") ev = "all"; if (n > 0) out = out sprintf(" %s %.2f", ev, n / (4 * rate)) }
    END { printf "%-10s system calls per echo:%s\n", srv, out }'
  for _ in $(seq 1 1200); do pgrep -f "uclient.* -p $port " >/dev/null || break; sleep 0.1; done
done
wait "$RUN"
grep -E "^$M " "$OUT"
