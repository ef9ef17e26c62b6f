package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

// TestUsage: after relayctl check relays packets as alice, relayctl usage
// shows her bytes and allocation time, and --relays each relay's, which
// add up to at least hers.
func TestUsage(t *testing.T) {
	w := getWorld(t)
	code, stdout, stderr := relayctl(t, w.userEnv(), "check", "--count", "5", "--interval", "5ms", "--ca-file", w.caFile)
	wantCode(t, "check", code, exitOK, stdout, stderr)

	var u wire.Usage
	testenv.Eventually(t, "alice's usage reported", 15*time.Second, 200*time.Millisecond, func() error {
		u, _, _ = relayctlJSON[wire.Usage](t, w.adminEnv(), exitOK, "usage", "--subject", "alice", "--json")
		if u.Total.BytesToPeer == 0 || u.Total.BytesFromPeer == 0 || u.Total.AllocationSeconds == 0 {
			return fmt.Errorf("usage %+v", u.Total)
		}
		return nil
	})
	if u.Subject != "alice" || len(u.Hours) == 0 || u.To.Sub(u.From) < 24*time.Hour {
		t.Errorf("usage --json = %+v, want alice's hours over the last day", u)
	}

	code, stdout, stderr = relayctl(t, w.adminEnv(), "usage", "--subject", "alice")
	wantCode(t, "usage", code, exitOK, stdout, stderr)
	for _, want := range []string{"alice, ", "HOUR", "TO PEER", "total", fmt.Sprintf("%d B", u.Total.BytesToPeer)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("usage lacks %q:\n%s", want, stdout)
		}
	}

	l, _, _ := relayctlJSON[wire.RelayUsageList](t, w.adminEnv(), exitOK, "usage", "--relays", "--json")
	if len(l.Relays) == 0 || l.Total.BytesToPeer < u.Total.BytesToPeer {
		t.Errorf("usage --relays --json = %+v, want relays carrying at least alice's %d bytes", l, u.Total.BytesToPeer)
	}
	code, stdout, stderr = relayctl(t, w.adminEnv(), "usage", "--relays")
	wantCode(t, "usage --relays", code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "RELAY") || !strings.Contains(stdout, l.Relays[0].RelayID) {
		t.Errorf("usage --relays:\n%s", stdout)
	}

	code, stdout, stderr = relayctl(t, w.userEnv(), "usage", "--subject", "alice")
	wantCode(t, "usage with a user token", code, exitAPI, stdout, stderr)

	wantUsageErrors(t, w.adminEnv(), "usage", []usageCase{
		{name: "neither", args: nil, stderr: "--subject <sub> or --relays"},
		{name: "both", args: []string{"--subject", "a", "--relays"}, stderr: "not both"},
		{name: "bad from", args: []string{"--relays", "--from", "yesterday"}, stderr: "--from"},
		{name: "too long", args: []string{"--relays", "--from", "2026-01-01T00:00:00Z", "--to", "2026-03-01T00:00:00Z"}, stderr: "35 days"},
		{name: "argument", args: []string{"--relays", "x"}, stderr: "no arguments"},
	})
}
