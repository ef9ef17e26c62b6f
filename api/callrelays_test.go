package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/relaygate/relaygate/wire"
)

// TestCallRelays: a client in a call asks about its relays: each is
// answered in the order asked (a repeat once), one the gateway does not
// know without a state and not to be left; an operator's drain mark, and
// a relay's own draining, say leave at once on this replica; bad queries
// are 400 naming the parameter, and a user token is required.
func TestCallRelays(t *testing.T) {
	e := newEnv(t)
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	user := e.userToken("alice")
	ask := func(ids ...string) []wire.CallRelay {
		t.Helper()
		q := url.Values{"relay": ids}
		resp, b := e.do(req{method: "GET", path: "/v1/call-relays?" + q.Encode(), token: user})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/call-relays?%s = %d %s", q.Encode(), resp.StatusCode, b)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		return decodeAs[wire.CallRelays](t, b).Relays
	}

	got := ask("ams-2", "nope-1", "fra-1", "ams-2")
	if len(got) != 3 || got[0].RelayID != "ams-2" || got[1].RelayID != "nope-1" || got[2].RelayID != "fra-1" {
		t.Fatalf("answer %+v, want ams-2, nope-1, fra-1 in that order", got)
	}
	for _, c := range got {
		if c.Leave {
			t.Errorf("%s: leave before any drain", c.RelayID)
		}
	}
	if got[0].State == "" || got[2].State == "" || got[1].State != "" {
		t.Errorf("states %+v: want the known relays' states and none for nope-1", got)
	}

	if resp, b := e.do(req{method: "POST", path: "/v1/relays/fra-1/drain", token: e.adminToken()}); resp.StatusCode != http.StatusOK {
		t.Fatalf("drain fra-1 = %d %s", resp.StatusCode, b)
	}
	if got := ask("fra-1", "ams-2"); got[0].State != "drained" || !got[0].Leave || got[1].Leave {
		t.Fatalf("after the drain mark: %+v, want fra-1 drained to leave, ams-2 kept", got)
	}

	hb := ams2()
	hb["draining"] = true
	if resp, b := e.do(req{method: "PUT", path: "/v1/relays/ams-2", token: e.nodeToken("ams-2"), body: hb}); resp.StatusCode != http.StatusOK {
		t.Fatalf("draining heartbeat = %d %s", resp.StatusCode, b)
	}
	if got := ask("ams-2"); got[0].State != "draining" || !got[0].Leave {
		t.Fatalf("after ams-2's draining heartbeat: %+v, want draining to leave", got)
	}

	for _, tt := range []struct{ query, field string }{
		{"", "relay"},
		{"relay=" + strings.Repeat("a-1&relay=", 8) + "a-9", "relay"},
		{"relay=fra-1&relay=Not_An_ID", "relay[1]"},
	} {
		resp, b := e.do(req{method: "GET", path: "/v1/call-relays?" + tt.query, token: user})
		p := problemOf(t, resp, b)
		if resp.StatusCode != http.StatusBadRequest || p.Type != "urn:relaygate:problem:invalid-parameter" ||
			len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
			t.Errorf("?%s = %d %+v, want 400 invalid-parameter naming %s", tt.query, resp.StatusCode, p, tt.field)
		}
	}
	if resp, _ := e.do(req{method: "GET", path: "/v1/call-relays?relay=fra-1"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token = %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.do(req{method: "GET", path: "/v1/call-relays?relay=fra-1", token: e.nodeToken("fra-1")}); resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("with a node token = %d, want 401 or 403", resp.StatusCode)
	}
}
