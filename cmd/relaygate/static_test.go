package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/internal/testenv/coturntest"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/wire"
)

// staticEntry is one relay of a static relays file: coturn c as relay id
// at site, located by coordinates (the test has no GeoIP database).
func staticEntry(id, site string, lon float64, c *coturntest.Server) string {
	return fmt.Sprintf("  - id: %s\n    region: test\n    site: %s\n    latitude: 50\n    longitude: %v\n"+
		"    addresses: [127.0.0.1]\n    ports: {udp: %d, tcp: %d}\n    capacity: {allocations: 1000}\n", id, site, lon, c.Port, c.Port)
}

// relayList is GET /v1/relays' answer.
func relayList(t *testing.T, gw, admin string) wire.RelayList {
	t.Helper()
	code, body := call(t, "GET", gw+"/v1/relays", admin, nil)
	if code != 200 {
		t.Fatalf("GET /v1/relays = %d %s", code, body)
	}
	var list wire.RelayList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// choiceIDs are the relays an answer names, sorted.
func choiceIDs(a wire.Credentials) []string {
	var ids []string
	for _, c := range a.Choices() {
		ids = append(ids, c.RelayID)
	}
	slices.Sort(ids)
	return ids
}

// TestStaticCoturnRelays: two stock coturn turnservers that never
// heartbeat, listed in --static-relays (given by its env twin), are probed
// and handed out; relaygate's credentials allocate on them; replacing the
// file by rename removes and adds a relay; a bad file keeps the last good
// one and says why; a killed coturn leaves selections within two probe
// intervals.
func TestStaticCoturnRelays(t *testing.T) {
	if testing.Short() {
		t.Skip("runs coturn turnservers")
	}
	if _, err := exec.LookPath("turnserver"); err != nil {
		t.Skipf("turnserver is not installed (apt-get install coturn): %v", err)
	}
	// 2 s: a dead relay is down after about 1.6 intervals (one interval,
	// then three misses at a fifth of one), so two intervals leave 0.8 s
	// of margin; the file is polled every 5 s.
	const interval = 2 * time.Second
	cotA, cotB := coturntest.Start(t, testTURNSecret, "relaygate"), coturntest.Start(t, testTURNSecret, "relaygate")
	path := filepath.Join(t.TempDir(), "static-relays.yaml")
	both := "relays:\n" + staticEntry("coturn-a", "aaa", 8, cotA) + staticEntry("coturn-b", "bbb", 9, cotB)
	testenv.ReplaceFile(t, path, []byte(both))
	gw, logs := startGateway(t, map[string]string{
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_USER_JWT_SECRET": testUserSecret, "RELAYGATE_ADMIN_JWT_SECRET": testAdminSecret,
		"RELAYGATE_PROBE_INTERVAL": interval.String(), "RELAYGATE_ALLOW_RELAY_NETWORKS": "127.0.0.0/8",
		"RELAYGATE_STATIC_RELAYS": path,
	})
	user := testenv.Token(t, testUserSecret, "alice", time.Hour)
	admin := testenv.Token(t, testAdminSecret, "ops", time.Hour)
	pick := func() (wire.Credentials, int) { return pickFor(t, gw, user) }

	var creds wire.Credentials
	testenv.Eventually(t, "both coturns probed up and selected", 10*time.Second, 100*time.Millisecond, func() error {
		a, code := pick()
		if got := choiceIDs(a); code != 200 || !slices.Equal(got, []string{"coturn-a", "coturn-b"}) {
			return fmt.Errorf("answer %d %v, want coturn-a and coturn-b", code, got)
		}
		creds = a
		return nil
	})
	list := relayList(t, gw, admin)
	for _, r := range list.Relays {
		if !r.Static || r.State != "available" || r.Probe == nil || r.Load != (wire.Resources{}) || r.ExpiresAt.Year() != 9999 {
			t.Errorf("GET /v1/relays: %s = static %v, state %s, probe %v, load %+v, expires %v; want static, available, probed, no load, never",
				r.ID, r.Static, r.State, r.Probe, r.Load, r.ExpiresAt)
		}
	}
	if len(list.Relays) != 2 {
		t.Errorf("GET /v1/relays lists %d relays, want the 2 coturns", len(list.Relays))
	}

	t.Run("credentials allocate on the chosen coturn", func(t *testing.T) {
		primary := map[string]*coturntest.Server{"coturn-a": cotA, "coturn-b": cotB}[creds.Primary.RelayID]
		want := fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", primary.Port)
		if !slices.Contains(creds.Primary.URLs, want) {
			t.Fatalf("primary %s URLs = %v, want %s", creds.Primary.RelayID, creds.Primary.URLs, want)
		}
		_, relayed, err := relaytest.Allocate(t, fmt.Sprintf("127.0.0.1:%d", primary.Port), creds.Username, creds.Credential)
		if err != nil {
			t.Fatalf("coturn refused relaygate's credential: %v\ncoturn log:\n%s", err, primary.LogTail(20))
		}
		if ra, ok := relayed.LocalAddr().(*net.UDPAddr); !ok || !ra.IP.IsLoopback() {
			t.Errorf("relayed address %v, want one on loopback", relayed.LocalAddr())
		}
		t.Logf("allocated %v on %s (coturn :%d)", relayed.LocalAddr(), creds.Primary.RelayID, primary.Port)
	})

	t.Run("a bad file keeps the last good one", func(t *testing.T) {
		testenv.ReplaceFile(t, path, []byte(both+"    lod: 3\n"))
		line, err := testenv.WaitLog(logs, "static relays file refused, keeping the last good one", nil, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if msg, _ := line["err"].(string); !strings.Contains(msg, `line 18: relays[1]: unknown key "lod"`) || line["relays"] != 2.0 {
			t.Errorf("refusal logged as %v, want the key, its line and the 2 relays kept", line)
		}
		if got := len(relayList(t, gw, admin).Relays); got != 2 {
			t.Errorf("after a bad file GET /v1/relays lists %d relays, want the last good 2", got)
		}
		if a, code := pick(); code != 200 || len(choiceIDs(a)) != 2 {
			t.Errorf("after a bad file: answer %d %v, want both coturns", code, choiceIDs(a))
		}
	})

	t.Run("replacing the file removes and adds a relay", func(t *testing.T) {
		testenv.ReplaceFile(t, path, []byte("relays:\n"+staticEntry("coturn-a", "aaa", 8, cotA)))
		testenv.Eventually(t, "coturn-b gone", 15*time.Second, 100*time.Millisecond, func() error {
			if a, code := pick(); code != 200 || !slices.Equal(choiceIDs(a), []string{"coturn-a"}) {
				return fmt.Errorf("answer %d %v, want coturn-a alone", code, choiceIDs(a))
			}
			return nil
		})
		if got := relayList(t, gw, admin).Relays; len(got) != 1 || got[0].ID != "coturn-a" {
			t.Errorf("GET /v1/relays = %v, want coturn-a alone", got)
		}
		testenv.ReplaceFile(t, path, []byte(both))
		testenv.Eventually(t, "coturn-b back", 15*time.Second, 100*time.Millisecond, func() error {
			if a, code := pick(); code != 200 || len(choiceIDs(a)) != 2 {
				return fmt.Errorf("answer %d %v, want both coturns", code, choiceIDs(a))
			}
			return nil
		})
	})

	t.Run("a killed coturn leaves selections within two probe intervals", func(t *testing.T) {
		a, _ := pick()
		victim, proc := a.Primary.RelayID, cotA.Proc
		if victim == "coturn-b" {
			proc = cotB.Proc
		}
		if err := proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		// The bound counts from the kill, not from this call.
		testenv.Eventually(t, victim+" out of selections within two probe intervals", time.Until(killed.Add(2*interval)), 50*time.Millisecond, func() error {
			if a, code := pick(); code != 200 || slices.Contains(choiceIDs(a), victim) {
				return fmt.Errorf("%s still selected %v after it was killed (%d %v)", victim, time.Since(killed), code, choiceIDs(a))
			}
			return nil
		})
		t.Logf("killed %s; out of selections after %v (probe interval %v)", victim, time.Since(killed).Round(10*time.Millisecond), interval)
		if r, ok := findRelay(relayList(t, gw, admin), victim); !ok || r.State != "down" {
			t.Errorf("GET /v1/relays: %s = %+v (listed %v), want listed, down", victim, r, ok)
		}
	})
}

// findRelay is relay id of list.
func findRelay(list wire.RelayList, id string) (wire.RelayStatus, bool) {
	for _, r := range list.Relays {
		if r.ID == id {
			return r, true
		}
	}
	return wire.RelayStatus{}, false
}

// TestStaticRelaysNeedProbing: --static-relays with probing off is refused
// at start: nothing would ever tell a dead static relay.
func TestStaticRelaysNeedProbing(t *testing.T) {
	_, err := parseConfig([]string{"--static-relays", "x.yaml", "--probe-interval", "0"}, func(string) string { return "" }, &testenv.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--static-relays needs probing") {
		t.Errorf("parseConfig() error = %v, want --static-relays needs probing", err)
	}
}

// TestStaticRelaysBadFileStopsStart: a bad file at start is an error that
// names the file and the problem (no last good version to keep).
func TestStaticRelaysBadFileStopsStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "static.yaml")
	testenv.ReplaceFile(t, path, []byte("relays:\n  - id: coturn-a\n    region: test\n    site: aaa\n    latitude: 50\n    longitude: 8\n"+
		"    addresses: [10.1.2.3]\n    ports: {udp: 3478}\n"))
	env := map[string]string{"RELAYGATE_STATIC_RELAYS": path, "RELAYGATE_PROBE_INTERVAL": "1s", "RELAYGATE_ALLOW_RELAY_NETWORKS": "127.0.0.0/8"}
	getenv := func(k string) string { return env[k] }
	err := run(t.Context(), []string{"--listen", "127.0.0.1:0"}, getenv, &testenv.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "--static-relays: staticrelay: "+path) || !strings.Contains(err.Error(), "10.1.2.3 in 10.0.0.0/8") {
		t.Errorf("run() error = %v, want the file and its refused address named", err)
	}
}
