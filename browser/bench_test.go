package browser

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
)

// TestFailoverBench measures the failover gaps over several runs and prints
// their min/median/max: the plain mode's ICE restart and the warm standby
// after the carrying relay is killed, and a drain of the carrying relay (by
// SIGTERM and by the operator's mark) in warm standby mode, with the same
// calls' steady-state jitter (TestDrain holds a drain's gap to jitterLimit of it). It runs only when
// RELAYGATE_FAILOVER_RUNS is set (bench/failover/run.sh); runs that skip
// (ICE split the call over two relays, or a stall under load switched it
// early) are not counted.
func TestFailoverBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RELAYGATE_FAILOVER_RUNS"))
	if n <= 0 {
		t.Skip("RELAYGATE_FAILOVER_RUNS not set: run bench/failover/run.sh")
	}
	requireChromium(t)
	figures := map[string][]float64{}
	add := func(k string, v float64) { figures[k] = append(figures[k], v) }
	order := []string{"restart gap", "standby gap", "drain gap (SIGTERM)", "drain gap (operator mark)", "steady-state jitter"}
	for i := range n {
		t.Run(fmt.Sprintf("run %d", i+1), func(t *testing.T) {
			t.Run("restart", func(t *testing.T) {
				gap, _ := restartRun(t, 57000, false)
				add("restart gap", gap)
			})
			t.Run("standby", func(t *testing.T) { add("standby gap", standbyRun(t, 59000, 0)) })
			for _, how := range []string{drainSIGTERM, drainMark} {
				t.Run("drain "+how, func(t *testing.T) {
					gap, jitter := drainRun(t, 61000, how)
					add("drain gap ("+how+")", gap)
					add("steady-state jitter", jitter)
				})
			}
		})
	}
	out := fmt.Sprintf("failover figures over %d runs (ms, worst direction of each run):\n", n)
	for _, k := range order {
		v := figures[k]
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		out += fmt.Sprintf("  %-26s runs %2d  min %5.0f  median %5.0f  max %5.0f\n", k, len(v), v[0], v[len(v)/2], v[len(v)-1])
	}
	fmt.Print(out)
}
