package api_test

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme under test
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

func (e *env) credentials(clientIP string, body any) (*http.Response, []byte) {
	return e.do(req{method: "POST", path: "/v1/credentials", token: e.userToken("alice"), body: body,
		header: map[string]string{"X-Forwarded-For": clientIP}})
}

func trustLoopback(c *api.Config) {
	c.TrustedProxies = append(c.TrustedProxies, mustPrefix("127.0.0.0/8"), mustPrefix("::1/128"))
}

func TestCredentialsEndToEnd(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	e.register("nyc-1", nyc1())

	resp, b := e.credentials(berlinIP, map[string]any{"ttl_seconds": 600})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.StatusCode, b)
	}
	c := decodeAs[wire.Credentials](t, b)
	if c.Primary.RelayID != "ams-2" && c.Primary.RelayID != "fra-1" {
		t.Errorf("primary = %s, want a European relay for a Berlin client", c.Primary.RelayID)
	}
	if c.Backup == nil || c.Backup.Site == c.Primary.Site {
		t.Fatalf("backup = %+v, want one at another site than %s", c.Backup, c.Primary.Site)
	}
	if c.Primary.Basis != "geo" || c.Primary.EstimatedRTTMs == nil {
		t.Errorf("primary basis = %q, estimate %v; want geo with an estimate", c.Primary.Basis, c.Primary.EstimatedRTTMs)
	}
	if c.TTLSeconds != 600 || !c.ExpiresAt.Equal(t0.Add(600*time.Second)) {
		t.Errorf("ttl = %d, expires %v; want 600 and %v", c.TTLSeconds, c.ExpiresAt, t0.Add(600*time.Second))
	}
	if c.ICETransportPolicy != "relay" || len(c.ICEServers) != 1 {
		t.Fatalf("ice_transport_policy %q, %d ice servers", c.ICETransportPolicy, len(c.ICEServers))
	}
	ice := c.ICEServers[0]
	if ice.Username != c.Username || ice.Credential != c.Credential {
		t.Error("ice_servers carries other credentials than the answer")
	}
	if want := append(slices.Clone(c.Primary.URLs), c.Backup.URLs...); !slices.Equal(ice.URLs, want) {
		t.Errorf("ice_servers urls = %v, want primary then backup %v", ice.URLs, want)
	}
	// The credential is the TURN REST HMAC, checkable without our code.
	mac := hmac.New(sha1.New, []byte(turnSecret))
	mac.Write([]byte(c.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); c.Credential != want {
		t.Errorf("credential = %q, want HMAC-SHA1 %q", c.Credential, want)
	}
	if !strings.HasPrefix(c.Username, fmt.Sprint(t0.Add(600*time.Second).Unix())+":k1.") || strings.Contains(c.Username, "alice") {
		t.Errorf("username = %q, want <expiry>:k1.<pseudonym> without the subject", c.Username)
	}
}

func TestRelayURLs(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	noTLS := nyc1()
	noTLS["ports"] = map[string]any{"udp": 3478}
	delete(noTLS, "hostname")
	e.register("nyc-1", noTLS)

	tests := []struct {
		name     string
		clientIP string
		body     any
		primary  []string
	}{
		{name: "every transport, IPv6 in brackets, turns: by hostname", clientIP: berlinIP, primary: []string{
			"turn:203.0.113.5:3478?transport=udp", "turn:203.0.113.5:3478?transport=tcp",
			"turn:[2001:db8::5]:3478?transport=udp", "turn:[2001:db8::5]:3478?transport=tcp",
			"turns:fra.relay.example:5349?transport=tcp"}},
		{name: "only the transports asked for", clientIP: berlinIP, body: map[string]any{"transports": []string{"tls", "udp"}}, primary: []string{
			"turn:203.0.113.5:3478?transport=udp", "turn:[2001:db8::5]:3478?transport=udp",
			"turns:fra.relay.example:5349?transport=tcp"}},
		{name: "a relay lacking a transport is skipped", clientIP: newYorkIP, body: map[string]any{"transports": []string{"tcp"}}, primary: []string{
			"turn:203.0.113.5:3478?transport=tcp", "turn:[2001:db8::5]:3478?transport=tcp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.credentials(tt.clientIP, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			c := decodeAs[wire.Credentials](t, b)
			if !slices.Equal(c.Primary.URLs, tt.primary) {
				t.Errorf("primary urls = %v, want %v", c.Primary.URLs, tt.primary)
			}
		})
	}
}

func TestNoRelayIs503(t *testing.T) {
	e := newEnv(t)
	resp, b := e.credentials(berlinIP, nil)
	if p := problemOf(t, resp, b); resp.StatusCode != 503 || p.Type != "urn:relaygate:problem:no-relay-available" {
		t.Errorf("got %d %s, want 503 no-relay-available", resp.StatusCode, p.Type)
	}
	// A relay that stops heartbeating is gone after the TTL.
	e.register("fra-1", fra1())
	if resp, _ := e.credentials(berlinIP, nil); resp.StatusCode != 200 {
		t.Fatalf("with a fresh relay: status %d", resp.StatusCode)
	}
	e.clock.Advance(15 * time.Second)
	if resp, _ := e.credentials(berlinIP, nil); resp.StatusCode != 503 {
		t.Errorf("after the heartbeat TTL: status %d, want 503", resp.StatusCode)
	}
}

func TestUnlocatedClientFallback(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	e.register("nyc-1", nyc1())
	var first string
	for i := range 3 {
		resp, b := e.credentials(unlocatedIP, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		c := decodeAs[wire.Credentials](t, b)
		if c.Primary.Basis != "fallback" || c.Primary.EstimatedRTTMs != nil {
			t.Errorf("basis %q estimate %v, want fallback without estimate", c.Primary.Basis, c.Primary.EstimatedRTTMs)
		}
		if i == 0 {
			first = c.Primary.RelayID
		} else if c.Primary.RelayID != first {
			t.Errorf("answer %d: primary %s, first was %s: the fallback must be deterministic", i, c.Primary.RelayID, first)
		}
	}
}

func TestCredentialsTTL(t *testing.T) {
	e := newEnv(t)
	e.register("fra-1", fra1())
	tests := []struct {
		name   string
		body   any
		status int
		ttl    int64
	}{
		{name: "default is 24h", status: 200, ttl: 86400},
		{name: "60s is the least", body: map[string]any{"ttl_seconds": 60}, status: 200, ttl: 60},
		{name: "48h is the most", body: map[string]any{"ttl_seconds": 172800}, status: 200, ttl: 172800},
		{name: "59s is refused", body: map[string]any{"ttl_seconds": 59}, status: 400},
		{name: "48h+1s is refused", body: map[string]any{"ttl_seconds": 172801}, status: 400},
		{name: "fractional is refused", body: `{"ttl_seconds": 60.5}`, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: e.userToken("bob"), body: tt.body, contentType: "application/json"})
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status != 200 {
				if p := problemOf(t, resp, b); p.Type != "urn:relaygate:problem:invalid-body" || len(p.Errors) == 0 || p.Errors[0].Field != "ttl_seconds" {
					t.Errorf("problem = %+v, want invalid-body naming ttl_seconds", p)
				}
				return
			}
			c := decodeAs[wire.Credentials](t, b)
			if c.TTLSeconds != tt.ttl {
				t.Errorf("ttl_seconds = %d, want %d", c.TTLSeconds, tt.ttl)
			}
		})
	}
}

func TestGetTURN(t *testing.T) {
	e := newEnv(t)
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	resp, b := e.do(req{method: "GET", path: "/v1/turn?ttl=3600&transport=udp", token: e.userToken("carol")})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	got := decodeAs[wire.TurnServer](t, b)
	if got.TTL != 3600 || got.Username == "" || got.Password == "" || len(got.URIs) == 0 {
		t.Errorf("GET /v1/turn = %+v", got)
	}
	for _, u := range got.URIs {
		if !strings.HasSuffix(u, "?transport=udp") {
			t.Errorf("uri %q: asked for udp only", u)
		}
	}
	for _, q := range []string{"ttl=10", "ttl=x", "transport=sctp", "transport=udp&transport=udp"} {
		resp, b := e.do(req{method: "GET", path: "/v1/turn?" + q, token: e.userToken("carol")})
		if p := problemOf(t, resp, b); resp.StatusCode != 400 || p.Type != "urn:relaygate:problem:invalid-parameter" {
			t.Errorf("?%s: %d %s, want 400 invalid-parameter", q, resp.StatusCode, p.Type)
		}
	}
}

func TestRegistryAndDrain(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	admin := e.adminToken()

	e.clock.Advance(2 * time.Second)
	resp, b := e.do(req{method: "GET", path: "/v1/relays", token: admin})
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/relays: %d %s", resp.StatusCode, b)
	}
	list := decodeAs[wire.RelayList](t, b)
	if len(list.Relays) != 2 || list.Relays[0].ID != "ams-2" || list.Relays[1].ID != "fra-1" {
		t.Fatalf("relays = %+v, want ams-2, fra-1", list.Relays)
	}
	if r := list.Relays[1]; !slices.Equal(r.Addresses, []string{"203.0.113.5", "2001:db8::5"}) || r.State != "available" || r.HeartbeatAgeSeconds != 2 {
		t.Errorf("fra-1 = %+v", r)
	}

	// Drain both Berlin candidates but one; the drained one is never picked.
	resp, b = e.do(req{method: "POST", path: "/v1/relays/ams-2/drain", token: admin})
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"drained":true`) || !strings.Contains(string(b), `"state":"drained"`) {
		t.Fatalf("drain: %d %s", resp.StatusCode, b)
	}
	e.register("ams-2", ams2()) // the drain mark survives the relay's heartbeats
	for range 5 {
		_, b := e.credentials(berlinIP, nil)
		c := decodeAs[wire.Credentials](t, b)
		if c.Primary.RelayID == "ams-2" || (c.Backup != nil && c.Backup.RelayID == "ams-2") {
			t.Fatalf("drained relay selected: %s", b)
		}
	}
	resp, b = e.do(req{method: "DELETE", path: "/v1/relays/ams-2/drain", token: admin})
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"drained":false`) {
		t.Fatalf("undrain: %d %s", resp.StatusCode, b)
	}

	for _, path := range []string{"/v1/relays/nope-1", "/v1/relays/nope-1/drain"} {
		method := "GET"
		if strings.HasSuffix(path, "drain") {
			method = "POST"
		}
		resp, b := e.do(req{method: method, path: path, token: admin})
		if p := problemOf(t, resp, b); resp.StatusCode != 404 || p.Type != "urn:relaygate:problem:relay-not-found" {
			t.Errorf("%s %s: %d %s, want 404 relay-not-found", method, path, resp.StatusCode, p.Type)
		}
	}
	resp, b = e.do(req{method: "GET", path: "/v1/relays/Not_A_Slug", token: admin})
	if p := problemOf(t, resp, b); resp.StatusCode != 400 || p.Type != "urn:relaygate:problem:invalid-parameter" {
		t.Errorf("bad id: %d %s, want 400 invalid-parameter", resp.StatusCode, p.Type)
	}
}

func TestHeartbeatResponse(t *testing.T) {
	e := newEnv(t)
	resp, b := e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"), body: fra1()})
	if resp.StatusCode != 200 || string(b) != `{"ttl_seconds":15,"heartbeat_interval_seconds":5,"drained":false}`+"\n" {
		t.Errorf("heartbeat = %d %s", resp.StatusCode, b)
	}
}

// TestHeartbeatEchoesDrain: the operator's drain mark comes back in every
// heartbeat's answer, and a relay that reasserts it after the store lost
// its data (here: a store that never knew the relay) gets it restored,
// while clearing the mark wins over a relay that still reasserts it.
func TestHeartbeatEchoesDrain(t *testing.T) {
	e := newEnv(t)
	beat := func(body map[string]any) wire.HeartbeatAck {
		t.Helper()
		resp, b := e.do(req{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"), body: body})
		if resp.StatusCode != 200 {
			t.Fatalf("heartbeat = %d %s", resp.StatusCode, b)
		}
		return decodeAs[wire.HeartbeatAck](t, b)
	}
	reasserting := fra1()
	reasserting["drained"] = true
	if ack := beat(reasserting); !ack.Drained {
		t.Fatalf("a relay new to the store reasserting its drain: ack drained = false, want the mark restored")
	}
	admin := e.adminToken()
	if resp, b := e.do(req{method: "DELETE", path: "/v1/relays/fra-1/drain", token: admin}); resp.StatusCode != 200 {
		t.Fatalf("undrain = %d %s", resp.StatusCode, b)
	}
	if ack := beat(reasserting); ack.Drained {
		t.Errorf("after the operator cleared the mark, a relay still reasserting it got drained = true")
	}
	if resp, b := e.do(req{method: "POST", path: "/v1/relays/fra-1/drain", token: admin}); resp.StatusCode != 200 {
		t.Fatalf("drain = %d %s", resp.StatusCode, b)
	}
	if ack := beat(fra1()); !ack.Drained {
		t.Errorf("after the operator drained the relay, ack drained = false")
	}
}

// recorder is a Measurements that keeps what it is given.
type recorder struct {
	mu       sync.Mutex
	calls    [][]relay.Measurement
	nets     []netip.Prefix
	subjects []string
}

func (r *recorder) Record(c relay.Client, subject string, ms []relay.Measurement) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, ms)
	r.nets = append(r.nets, c.Prefix)
	r.subjects = append(r.subjects, subject)
}

func TestMeasurements(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, trustLoopback)
	e.setMeasurements(rec)
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	user := e.userToken("alice")
	body := map[string]any{"measurements": []any{map[string]any{"relay_id": "fra-1", "rtt_ms": 21.5, "loss": 0.01}}}
	resp, b := e.do(req{method: "POST", path: "/v1/measurements", token: user, body: body,
		header: map[string]string{"X-Forwarded-For": berlinIP}})
	if resp.StatusCode != 202 || string(b) != `{"accepted":1}`+"\n" {
		t.Fatalf("POST /v1/measurements = %d %s", resp.StatusCode, b)
	}
	// Inline measurements steer this answer and are recorded too.
	inline := map[string]any{"measurements": []any{map[string]any{"relay_id": "ams-2", "rtt_ms": 3}}}
	resp, b = e.do(req{method: "POST", path: "/v1/credentials", token: user, body: inline,
		header: map[string]string{"X-Forwarded-For": berlinIP}})
	c := decodeAs[wire.Credentials](t, b)
	if resp.StatusCode != 200 || c.Primary.RelayID != "ams-2" || c.Primary.Basis != "measured" || *c.Primary.EstimatedRTTMs != 3 {
		t.Fatalf("credentials with an inline measurement = %d %s", resp.StatusCode, b)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 2 || rec.calls[0][0].RelayID != "fra-1" || rec.calls[0][0].RTT != 21500*time.Microsecond ||
		rec.calls[0][0].Loss != 0.01 || rec.calls[1][0].RelayID != "ams-2" {
		t.Errorf("recorded %+v", rec.calls)
	}
	for _, p := range rec.nets {
		if want := relay.ClientPrefix(netip.MustParseAddr(berlinIP)); p != want {
			t.Errorf("recorded for client prefix %s, want the forwarded client's %s", p, want)
		}
	}
	if !slices.Equal(rec.subjects, []string{"alice", "alice"}) {
		t.Errorf("recorded for subjects %q, want the token's, alice, on both routes", rec.subjects)
	}
	for _, bad := range []any{map[string]any{}, map[string]any{"measurements": []any{}},
		map[string]any{"measurements": []any{map[string]any{"relay_id": "fra-1", "rtt_ms": -1}}}} {
		resp, b := e.do(req{method: "POST", path: "/v1/measurements", token: user, body: bad})
		if p := problemOf(t, resp, b); resp.StatusCode != 400 || p.Type != "urn:relaygate:problem:invalid-body" {
			t.Errorf("%v: %d %s", bad, resp.StatusCode, p.Type)
		}
	}
}

// TestMeasurementsReachSelection: what clients of a prefix report goes
// through the gateway's queue into the store and, once the snapshot has it,
// steers that prefix's answers without inline measurements.
func TestMeasurementsReachSelection(t *testing.T) {
	e := newEnv(t, trustLoopback)
	e.run()
	e.register("fra-1", fra1())
	e.register("ams-2", ams2())
	pick := func() wire.Credentials {
		t.Helper()
		resp, b := e.credentials(berlinIP, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("credentials = %d %s", resp.StatusCode, b)
		}
		return decodeAs[wire.Credentials](t, b)
	}
	if c := pick(); c.Primary.RelayID != "fra-1" || c.Primary.Basis != "geo" {
		t.Fatalf("before any report: primary %s (%s), want fra-1 (geo)", c.Primary.RelayID, c.Primary.Basis)
	}
	// fra-1 measured far slower: clearly worse, so the primary changes
	// despite hysteresis.
	body := map[string]any{"measurements": []any{map[string]any{"relay_id": "ams-2", "rtt_ms": 3},
		map[string]any{"relay_id": "fra-1", "rtt_ms": 40}}}
	for _, user := range []string{"alice", "bob", "carol"} { // three reporters: the floor before a prefix's aggregate is trusted
		resp, b := e.do(req{method: "POST", path: "/v1/measurements", token: e.userToken(user), body: body,
			header: map[string]string{"X-Forwarded-For": berlinIP}})
		if resp.StatusCode != 202 {
			t.Fatalf("POST /v1/measurements = %d %s", resp.StatusCode, b)
		}
	}
	berlin := relay.ClientPrefix(netip.MustParseAddr(berlinIP))
	eventually(t, "the reports reach the store", func() bool {
		ms, _, err := e.reg.Measurements(t.Context(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return ms[berlin]["ams-2"].Samples == 3
	})
	if err := e.gw.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := pick(); c.Primary.RelayID != "ams-2" || c.Primary.Basis != "measured" || *c.Primary.EstimatedRTTMs != 3 {
		t.Errorf("after the reports: primary %s (%s, %v ms), want ams-2 (measured, 3 ms)", c.Primary.RelayID, c.Primary.Basis, c.Primary.EstimatedRTTMs)
	}
}

// TestWrongRoleDetail: a valid token of another role gets 403, and its
// detail names both roles with the right article.
func TestWrongRoleDetail(t *testing.T) {
	e := newEnv(t, trustLoopback)
	for _, tt := range []struct{ method, path, token, want string }{
		{"GET", "/v1/relays", e.userToken("alice"), "this endpoint needs an admin token, not a user token"},
		{"POST", "/v1/credentials", e.adminToken(), "this endpoint needs a user token, not an admin token"},
	} {
		resp, b := e.do(req{method: tt.method, path: tt.path, token: tt.token})
		var p wire.Problem
		if err := json.Unmarshal(b, &p); err != nil || resp.StatusCode != 403 || p.Detail != tt.want {
			t.Errorf("%s %s = %d %s, want 403 with detail %q", tt.method, tt.path, resp.StatusCode, b, tt.want)
		}
	}
}
