package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

// picked names the relays of a credentials answer, and nothing of its
// credentials.
func picked(a wire.Credentials) string {
	var ids []string
	for _, c := range a.Choices() {
		ids = append(ids, c.RelayID)
	}
	return fmt.Sprint(ids)
}

// TestFailoverWithinTwoProbeIntervals kills a real relaynode process
// mid-test; it must leave new selections within two probe intervals, long
// before its heartbeat TTL runs out.
func TestFailoverWithinTwoProbeIntervals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs relaynode")
	}
	// 4 s: a dead relay is down after about 1.6 intervals (one interval, then
	// three misses at a fifth of one), so two intervals leave 1.5 s of margin
	// for a loaded CI machine.
	const interval = 4 * time.Second
	env := map[string]string{
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_USER_JWT_SECRET": testUserSecret,
		"RELAYGATE_PROBE_INTERVAL": interval.String(), "RELAYGATE_HEARTBEAT_TTL": "60s",
		"RELAYGATE_ADMIN_JWT_SECRET": testAdminSecret,
	}
	gw, _ := startGateway(t, env)
	bins, err := testenv.BuildCommands(t.TempDir(), false, "../relaynode")
	if err != nil {
		t.Fatalf("go build relaynode: %v", err)
	}
	bin := bins["relaynode"]

	relays := map[string]*testenv.Proc{}
	for i, site := range []string{"aaa", "bbb", "ccc"} {
		relays[site+"-1"] = startRelaynode(t, bin, gw, site, i, "warn")
	}

	user := testenv.Token(t, testUserSecret, "alice", time.Hour)
	pick := func() (wire.Credentials, int) { return pickFor(t, gw, user) }
	// Wait until all three are registered and probed up.
	admin := testenv.Token(t, testAdminSecret, "ops", time.Hour)
	var before wire.Credentials
	testenv.Eventually(t, "all three relays selectable and probed up", 15*time.Second, 100*time.Millisecond, func() error {
		a, code := pick()
		if code != 200 || a.Backup == nil {
			return fmt.Errorf("last %d %s", code, picked(a))
		}
		before = a
		if up := probedUp(t, gw, admin); up != 3 {
			return fmt.Errorf("%d of 3 probed up", up)
		}
		return nil
	})

	victim := before.Primary.RelayID
	if err := relays[victim].Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The bound counts from the kill, not from this call.
	testenv.Eventually(t, victim+" out of selections within two probe intervals", time.Until(killed.Add(2*interval)), 50*time.Millisecond, func() error {
		if a, code := pick(); code != 200 || a.Primary.RelayID == victim || (a.Backup != nil && a.Backup.RelayID == victim) {
			return fmt.Errorf("%s still selected %v after it was killed (%d %s)", victim, time.Since(killed), code, picked(a))
		}
		return nil
	})
	t.Logf("killed %s; out of selections after %v (probe interval %v)", victim, time.Since(killed).Round(10*time.Millisecond), interval)
}

// startRelaynode runs the relaynode binary bin as relay <site>-1, the
// i-th of a test's relays (its longitude and relay ports follow i), on a
// free UDP port of 127.0.0.1, heartbeating into gw every second until the
// gateway names its interval, logging at level. It is killed when the test
// ends, and its logs shown if the test failed.
func startRelaynode(t *testing.T, bin, gw, site string, i int, level string) *testenv.Proc {
	t.Helper()
	id := site + "-1"
	cmd := exec.CommandContext(t.Context(), bin,
		"--id", id, "--region", "test", "--site", site, "--lat", "50", "--lon", fmt.Sprint(8+i),
		"--listen-udp", fmt.Sprintf("127.0.0.1:%d", testenv.FreeUDPPort(t)), "--listen-tcp", "off",
		"--public-ip", "127.0.0.1", "--relay-ports", fmt.Sprintf("%d-%d", 40000+i*100, 40099+i*100),
		"--gateway-url", gw, "--heartbeat-interval", "1s", "--log-level", level)
	cmd.Env = append(os.Environ(), "RELAYNODE_SECRETS=k1:"+testTURNSecret, "RELAYNODE_NODE_TOKEN="+testenv.Token(t, testNodeSecret, id, time.Hour))
	return testenv.StartProcUntilCleanup(t, id, cmd)
}

// pickFor asks gw for credentials with the user token and returns the
// answer (zero unless 200) and the status.
func pickFor(t *testing.T, gw, user string) (wire.Credentials, int) {
	t.Helper()
	code, body := call(t, "POST", gw+"/v1/credentials", user, nil)
	var a wire.Credentials
	if code == 200 {
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("credentials answer: %v: %s", err, body)
		}
	}
	return a, code
}

// probedUp counts the relays the gateway's probes call up.
func probedUp(t *testing.T, gw, admin string) int {
	t.Helper()
	n := 0
	for _, r := range relayList(t, gw, admin).Relays {
		if r.Probe != nil && r.Probe.Health == "up" {
			n++
		}
	}
	return n
}
