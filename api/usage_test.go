package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
	"github.com/relaygate/relaygate/wire"
)

// pseudonym is the user part a relay counts under for subject's minted
// usernames.
func (e *env) pseudonym(subject string) string {
	e.t.Helper()
	u, err := turncred.ParseUsername(e.gw.Mint(subject, time.Hour, t0).Username)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.User[len(u.KeyID())+1:]
}

func withUsage(body map[string]any, seq int, entries ...map[string]any) map[string]any {
	body["usage"] = map[string]any{"epoch": "e1", "seq": seq, "entries": entries}
	return body
}

func entry(pseudonym string, to, from int, secs float64) map[string]any {
	return map[string]any{"pseudonym": pseudonym, "bytes_to_peer": to, "bytes_from_peer": from, "allocation_seconds": secs}
}

// TestUsageFromHeartbeats: a heartbeat's usage report is acknowledged and
// counted once however often it comes; GET /v1/usage reads it back by
// token subject, GET /v1/usage/relays per relay.
func TestUsageFromHeartbeats(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.pseudonym("alice@example.com"), e.pseudonym("bob@example.com")
	for range 2 { // the second is the relay sending it again (it lost the answer)
		resp, b := e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"),
			body: withUsage(fra1(), 1, entry(alice, 1000, 2000, 61.5), entry(bob, 1, 2, 3))})
		if ack := decodeAs[wire.HeartbeatAck](t, b); resp.StatusCode != 200 || ack.UsageAck != 1 {
			t.Fatalf("heartbeat with usage = %d %s, want usage_ack 1", resp.StatusCode, b)
		}
	}
	e.register("ams-2", withUsage(ams2(), 4, entry(alice, 10, 20, 1)))
	e.clock.Advance(time.Hour)
	e.register("fra-1", withUsage(fra1(), 2, entry(alice, 5, 5, 1)))

	admin := e.adminToken()
	from, to := t0.Truncate(time.Hour).Format(time.RFC3339), t0.Add(2*time.Hour).Format(time.RFC3339)
	q := url.Values{"subject": {"alice@example.com"}, "from": {from}, "to": {to}}
	resp, b := e.do(req{method: "GET", path: "/v1/usage?" + q.Encode(), token: admin})
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/usage = %d %s", resp.StatusCode, b)
	}
	u := decodeAs[wire.Usage](t, b)
	hour := t0.Truncate(time.Hour)
	want := wire.Usage{Subject: "alice@example.com", From: hour, To: hour.Add(2 * time.Hour),
		Total: wire.UsageTotals{BytesToPeer: 1015, BytesFromPeer: 2025, AllocationSeconds: 63.5},
		Hours: []wire.UsageHour{
			{Start: hour, Usage: wire.UsageTotals{BytesToPeer: 1010, BytesFromPeer: 2020, AllocationSeconds: 62.5}},
			{Start: hour.Add(time.Hour), Usage: wire.UsageTotals{BytesToPeer: 5, BytesFromPeer: 5, AllocationSeconds: 1}},
		}}
	if !u.From.Equal(want.From) || !u.To.Equal(want.To) || u.Total != want.Total || len(u.Hours) != 2 ||
		!u.Hours[0].Start.Equal(hour) || u.Hours[0].Usage != want.Hours[0].Usage || u.Hours[1].Usage != want.Hours[1].Usage {
		t.Errorf("GET /v1/usage = %s\nwant %+v", b, want)
	}
	if strings.Contains(string(b), alice) {
		t.Errorf("the answer names the pseudonym: %s", b)
	}

	resp, b = e.do(req{method: "GET", path: "/v1/usage/relays?" + url.Values{"from": {from}, "to": {to}}.Encode(), token: admin})
	rl := decodeAs[wire.RelayUsageList](t, b)
	if resp.StatusCode != 200 || len(rl.Relays) != 2 || rl.Relays[0].RelayID != "ams-2" || rl.Relays[1].RelayID != "fra-1" ||
		rl.Relays[1].Usage.BytesToPeer != 1006 || rl.Total.BytesToPeer != 1016 || rl.Total.BytesFromPeer != 2027 {
		t.Errorf("GET /v1/usage/relays = %d %s", resp.StatusCode, b)
	}

	// Only admins.
	for _, tok := range []string{e.nodeToken("fra-1"), e.userToken("alice@example.com")} {
		if resp, b := e.do(req{method: "GET", path: "/v1/usage?" + q.Encode(), token: tok}); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /v1/usage with a non-admin token = %d %s, want 401 or 403", resp.StatusCode, b)
		}
	}
}

func TestUsageQueryRefusals(t *testing.T) {
	e := newEnv(t)
	admin := e.adminToken()
	for _, tt := range []struct {
		name, query string
		fields      []string
	}{
		{"no parameters", "", []string{"subject", "from", "to"}},
		{"no subject", "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z", []string{"subject"}},
		{"a date without time", "subject=a&from=2026-12-01&to=2026-12-02T00:00:00Z", []string{"from"}},
		{"to before from", "subject=a&from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", []string{"to"}},
		{"over 35 days", "subject=a&from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z", []string{"to"}},
		{"a control character in the subject", "subject=a%0Ab&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z", []string{"subject"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(req{method: "GET", path: "/v1/usage?" + tt.query, token: admin})
			p := decodeAs[wire.Problem](t, b)
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Field)
			}
			if resp.StatusCode != 400 || !strings.HasSuffix(p.Type, "invalid-parameter") || strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("GET /v1/usage?%s = %d %s, want 400 invalid-parameter on %v", tt.query, resp.StatusCode, b, tt.fields)
			}
		})
	}
	if resp, b := e.do(req{method: "GET", path: "/v1/usage/relays?from=x", token: admin}); resp.StatusCode != 400 {
		t.Errorf("GET /v1/usage/relays?from=x = %d %s, want 400", resp.StatusCode, b)
	}
	// A heartbeat with an invalid report is refused whole, naming the field.
	resp, b := e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"),
		body: withUsage(fra1(), 0, entry("a:b", 1, 1, 1))})
	if resp.StatusCode != 400 || !strings.Contains(string(b), "usage.seq") || !strings.Contains(string(b), "usage.entries[0].pseudonym") {
		t.Errorf("heartbeat with an invalid usage report = %d %s, want 400 naming usage.seq and the pseudonym", resp.StatusCode, b)
	}
}

// failingUsage is a Memory store whose usage writes fail as when Redis is
// away.
type failingUsage struct{ *store.Memory }

func (failingUsage) AddUsage(context.Context, string, relay.UsageReport) error {
	return &store.UnavailableError{Err: errors.New("connection refused")}
}

// TestHeartbeatStandsWhenUsageFails: a heartbeat whose usage report cannot
// be counted is still accepted, without usage_ack, so the relay stays
// registered and sends the report again.
func TestHeartbeatStandsWhenUsageFails(t *testing.T) {
	e := newEnvOn(t, func(now func() time.Time) store.Registry {
		return failingUsage{storetest.NewMemory(t, store.MemoryConfig{Now: now})}
	})
	resp, b := e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"),
		body: withUsage(fra1(), 1, entry("p", 1, 1, 1))})
	if ack := decodeAs[wire.HeartbeatAck](t, b); resp.StatusCode != 200 || ack.UsageAck != 0 || strings.Contains(string(b), "usage_ack") {
		t.Errorf("heartbeat while usage cannot be stored = %d %s, want 200 without usage_ack", resp.StatusCode, b)
	}
	if !strings.Contains(e.logs.String(), "usage report not counted") {
		t.Errorf("no warning logged:\n%s", e.logs)
	}
}
