package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/wire"
)

// TestRevocation: an operator revokes a subject; its credentials (both
// shapes) are refused with subject-revoked at once while another user's
// are not; the list shows it; relays' heartbeat answers carry its
// pseudonym, never the subject; lifting it restores credentials, and
// lifting it again is revocation-not-found.
func TestRevocation(t *testing.T) {
	e := newEnv(t)
	e.register("fra-1", fra1())
	admin := e.adminToken()
	const bob = "bob@example.com"
	until := e.clock.Now().Add(time.Hour).UTC()

	resp, b := e.do(req{method: "POST", path: "/v1/revocations", token: admin, body: map[string]any{"subject": bob, "until": until.Format(time.RFC3339)}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/revocations = %d %s", resp.StatusCode, b)
	}
	if got := decodeAs[wire.Revocation](t, b); got.Subject != bob || !got.Until.Equal(until) {
		t.Fatalf("POST /v1/revocations = %+v, want subject %q until %v", got, bob, until)
	}
	for _, r := range []req{
		{method: "POST", path: "/v1/credentials", token: e.userToken(bob)},
		{method: "GET", path: "/v1/turn", token: e.userToken(bob)},
	} {
		resp, b := e.do(r)
		if p := problemOf(t, resp, b); resp.StatusCode != http.StatusForbidden || p.Type != "urn:relaygate:problem:subject-revoked" {
			t.Errorf("%s %s for a revoked subject = %d %s, want 403 subject-revoked", r.method, r.path, resp.StatusCode, p.Type)
		}
	}
	if resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: e.userToken("alice")}); resp.StatusCode != http.StatusOK {
		t.Fatalf("credentials for another user = %d %s", resp.StatusCode, b)
	}

	resp, b = e.do(req{method: "GET", path: "/v1/revocations", token: admin})
	list := decodeAs[wire.RevocationList](t, b)
	if resp.StatusCode != http.StatusOK || len(list.Revocations) != 1 || list.Revocations[0].Subject != bob {
		t.Fatalf("GET /v1/revocations = %d %s, want bob's revocation", resp.StatusCode, b)
	}

	resp, b = e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"), body: fra1()})
	ack := decodeAs[wire.HeartbeatAck](t, b)
	if resp.StatusCode != http.StatusOK || len(ack.Revocations) != 1 || ack.Revocations[0].Pseudonym == "" || !ack.Revocations[0].Until.Equal(until) {
		t.Fatalf("heartbeat answer = %d %s, want bob's pseudonym until %v", resp.StatusCode, b, until)
	}
	if strings.Contains(string(b), "bob") {
		t.Fatalf("heartbeat answer %s names the subject", b)
	}
	if m, _ := newMinter(); ack.Revocations[0].Pseudonym != m.Pseudonym(bob) {
		t.Fatalf("heartbeat answer pseudonym is not the one bob's TURN usernames carry")
	}

	lift := req{method: "DELETE", path: "/v1/revocations?subject=" + url.QueryEscape(bob), token: admin}
	if resp, b := e.do(lift); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /v1/revocations = %d %s, want 204", resp.StatusCode, b)
	}
	if resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: e.userToken(bob)}); resp.StatusCode != http.StatusOK {
		t.Fatalf("credentials after the revocation was lifted = %d %s", resp.StatusCode, b)
	}
	resp, b = e.do(lift)
	if p := problemOf(t, resp, b); resp.StatusCode != http.StatusNotFound || p.Type != "urn:relaygate:problem:revocation-not-found" {
		t.Fatalf("DELETE again = %d %s, want 404 revocation-not-found", resp.StatusCode, p.Type)
	}
	if strings.Contains(e.logs.String(), "bob") {
		t.Fatalf("the logs name the revoked subject")
	}
}

// TestRevocationRefusesBadInput: every malformed revocation is a 400
// problem naming the field; only admins revoke.
func TestRevocationRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	admin := e.adminToken()
	now := e.clock.Now()
	tests := []struct {
		name   string
		r      req
		status int
		typ    string
	}{
		{name: "until in the past", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "bob", "until": now.Add(-time.Minute).Format(time.RFC3339)}}, status: 400, typ: "invalid-body"},
		{name: "until now", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "bob", "until": now.Format(time.RFC3339Nano)}}, status: 400, typ: "invalid-body"},
		{name: "until past ten years", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "bob", "until": now.AddDate(11, 0, 0).Format(time.RFC3339)}}, status: 400, typ: "invalid-body"},
		{name: "until not a time", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: `{"subject": "bob", "until": "tomorrow"}`, contentType: "application/json"}, status: 400, typ: "invalid-body"},
		{name: "until missing", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "bob"}}, status: 400, typ: "invalid-body"},
		{name: "subject empty", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "", "until": now.Add(time.Hour).Format(time.RFC3339)}}, status: 400, typ: "invalid-body"},
		{name: "subject with a control character", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "bob\n", "until": now.Add(time.Hour).Format(time.RFC3339)}}, status: 400, typ: "invalid-body"},
		{name: "unknown member", r: req{method: "POST", path: "/v1/revocations", token: admin,
			body: map[string]any{"subject": "bob", "until": now.Add(time.Hour).Format(time.RFC3339), "reason": "x"}}, status: 400, typ: "invalid-body"},
		{name: "lift without subject", r: req{method: "DELETE", path: "/v1/revocations", token: admin}, status: 400, typ: "invalid-parameter"},
		{name: "lift with a subject too long", r: req{method: "DELETE", path: "/v1/revocations?subject=" + strings.Repeat("x", 257), token: admin},
			status: 400, typ: "invalid-parameter"},
		{name: "user token", r: req{method: "POST", path: "/v1/revocations", token: e.userToken("bob"),
			body: map[string]any{"subject": "bob", "until": now.Add(time.Hour).Format(time.RFC3339)}}, status: 403, typ: "forbidden"},
		{name: "no token", r: req{method: "GET", path: "/v1/revocations"}, status: 401, typ: "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(tt.r)
			if p := problemOf(t, resp, b); resp.StatusCode != tt.status || p.Type != "urn:relaygate:problem:"+tt.typ {
				t.Fatalf("%s %s = %d %s, want %d %s", tt.r.method, tt.r.path, resp.StatusCode, p.Type, tt.status, tt.typ)
			}
		})
	}
	resp, b := e.do(req{method: "GET", path: "/v1/revocations", token: admin})
	if list := decodeAs[wire.RevocationList](t, b); resp.StatusCode != http.StatusOK || len(list.Revocations) != 0 {
		t.Fatalf("after refused revocations, GET /v1/revocations = %d %s, want none", resp.StatusCode, b)
	}
}
