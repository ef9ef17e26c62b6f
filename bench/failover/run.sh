#!/usr/bin/env bash
# bench/failover/run.sh - relaygate.js failover gaps in headless Chromium,
# over several runs, as min/median/max. See README.md ("relaygate.js").
#
#   bench/failover/run.sh [RUNS]     (default 5; about 2.5 minutes a run)
#
# Each run starts a relaygate and two relaynode processes on loopback and a
# fresh Chromium per scenario (package browser, TestFailoverBench):
#   restart gap    plain mode: the carrying relay SIGKILLed, watch() restarts ICE
#   standby gap    warm standby mode: the same kill, watch() switches to the standby
#   drain gap      warm standby mode: the carrying relay drained by SIGTERM or by
#                  the operator's mark (POST /v1/relays/{id}/drain) mid-call
#   steady-state jitter  the drain calls' longest inter-arrival over 8 s before
#                  the drain; TestDrain holds a drain's gap to 2 x it + 150 ms
# A gap is the longest time between two 50 ms samples of the page that saw
# audio packets arrive, the worst of the two directions. Needs
# /usr/bin/chromium (Debian's chromium package).
set -euo pipefail
runs=${1:-5}
cd "$(dirname "$0")/../.."
RELAYGATE_FAILOVER_RUNS=$runs go test -count=1 -timeout "$((runs * 6 + 5))m" \
	-run '^TestFailoverBench$' -v ./browser | grep -E '^(failover figures|  [a-z]|--- (FAIL|SKIP)|FAIL|ok)'
