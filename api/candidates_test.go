package api_test

import (
	"slices"
	"testing"
	"time"

	"github.com/relaygate/relaygate/wire"
)

// TestCandidates: GET /v1/candidates lists a Berlin client's UDP relays,
// one per site, nearest first, with STUN URLs; it keeps to the policies the
// credentials endpoints keep to; and measuring them first places the very
// next answer on the measurements.
func TestCandidates(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	e.register("nyc-1", nyc1())
	tcpOnly := heartbeat("eu-central", "ber", 52.52, 13.40, "203.0.113.9")
	tcpOnly["ports"] = map[string]any{"tcp": 3478}
	e.register("ber-1", tcpOnly) // nearest, but no STUN over UDP to measure it by
	user := e.userToken("alice")
	berlin := map[string]string{"X-Forwarded-For": berlinIP}

	resp, b := e.do(req{method: "GET", path: "/v1/candidates", token: user, header: berlin})
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/candidates = %d %s", resp.StatusCode, b)
	}
	got := decodeAs[wire.CandidateList](t, b)
	var ids []string
	for _, c := range got.Candidates {
		ids = append(ids, c.RelayID)
	}
	if want := []string{"fra-1", "ams-2", "nyc-1"}; !slices.Equal(ids, want) || got.BudgetMs != 300 {
		t.Fatalf("candidates %q, budget %d ms; want %q, 300 ms", ids, got.BudgetMs, want)
	}
	if want := []string{"stun:203.0.113.5:3478", "stun:[2001:db8::5]:3478"}; !slices.Equal(got.Candidates[0].URLs, want) {
		t.Errorf("fra-1's URLs = %q, want %q", got.Candidates[0].URLs, want)
	}

	// Measured first: the very answer rests on what the client measured
	// (nyc-1 answered faster than the GeoIP-nearest fra-1 and ams-2).
	measured := map[string]any{"measurements": []any{
		map[string]any{"relay_id": "fra-1", "rtt_ms": 90}, map[string]any{"relay_id": "ams-2", "rtt_ms": 95},
		map[string]any{"relay_id": "nyc-1", "rtt_ms": 4}}}
	resp, b = e.do(req{method: "POST", path: "/v1/credentials", token: user, body: measured, header: berlin})
	c := decodeAs[wire.Credentials](t, b)
	if resp.StatusCode != 200 || c.Primary.RelayID != "nyc-1" || c.Primary.Basis != "measured" {
		t.Fatalf("credentials measured first = %d %s, want nyc-1 on its measurement", resp.StatusCode, b)
	}

	// The request's own jurisdiction list narrows the candidates as it does
	// the credentials (relays of unknown country are out under any policy).
	resp, b = e.do(req{method: "GET", path: "/v1/candidates?exclude_countries=US", token: user, header: berlin})
	if got := decodeAs[wire.CandidateList](t, b); resp.StatusCode != 200 || len(got.Candidates) != 0 {
		t.Errorf("GET /v1/candidates?exclude_countries=US = %d %s, want none", resp.StatusCode, b)
	}
	resp, b = e.do(req{method: "GET", path: "/v1/candidates?exclude_countries=XYZ", token: user, header: berlin})
	if p := problemOf(t, resp, b); resp.StatusCode != 400 || p.Type != "urn:relaygate:problem:invalid-parameter" {
		t.Errorf("GET /v1/candidates?exclude_countries=XYZ = %d %s", resp.StatusCode, p.Type)
	}
	resp, b = e.do(req{method: "GET", path: "/v1/candidates", token: e.adminToken()})
	if resp.StatusCode != 403 {
		t.Errorf("GET /v1/candidates with an admin token = %d %s, want 403", resp.StatusCode, b)
	}
	resp, b = e.do(req{method: "POST", path: "/v1/revocations", token: e.adminToken(),
		body: map[string]any{"subject": "bob", "until": t0.Add(time.Hour).Format(time.RFC3339)}})
	if resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Fatalf("POST /v1/revocations = %d %s", resp.StatusCode, b)
	}
	resp, b = e.do(req{method: "GET", path: "/v1/candidates", token: e.userToken("bob"), header: berlin})
	if p := problemOf(t, resp, b); resp.StatusCode != 403 || p.Type != "urn:relaygate:problem:subject-revoked" {
		t.Errorf("GET /v1/candidates as a revoked subject = %d %s, want 403 subject-revoked", resp.StatusCode, p.Type)
	}
}
