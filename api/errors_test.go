package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.User.Issuer = "app.example"; c.User.Audience = "relaygate" })
	e.register("fra-1", fra1()) // node tokens have no issuer rule
	good := func(c jwt.MapClaims) { c["iss"] = "app.example"; c["aud"] = "relaygate" }
	user := func(f ...func(jwt.MapClaims)) string {
		return e.hsToken(userSecret, "alice", append([]func(jwt.MapClaims){good}, f...)...)
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": t0.Add(time.Hour).Unix(), "iss": "app.example", "aud": "relaygate"}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		header string // raw Authorization, overrides token
		status int
		typ    string
	}{
		{name: "valid user token", method: "POST", path: "/v1/credentials", token: user(), status: 200},
		{name: "no token", method: "POST", path: "/v1/credentials", status: 401, typ: "unauthorized"},
		{name: "not a bearer", method: "POST", path: "/v1/credentials", header: "Basic YWxpY2U6eA==", status: 401, typ: "unauthorized"},
		{name: "garbage token", method: "POST", path: "/v1/credentials", token: "not.a.jwt", status: 401, typ: "unauthorized"},
		{name: "alg none", method: "POST", path: "/v1/credentials", token: none, status: 401, typ: "unauthorized"},
		{name: "wrong secret", method: "POST", path: "/v1/credentials", token: e.hsToken("another-secret-0123456789abcdef0123", "alice", good), status: 401, typ: "unauthorized"},
		{name: "expired", method: "POST", path: "/v1/credentials", token: user(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Minute).Unix() }), status: 401, typ: "unauthorized"},
		{name: "no exp", method: "POST", path: "/v1/credentials", token: user(func(c jwt.MapClaims) { delete(c, "exp") }), status: 401, typ: "unauthorized"},
		{name: "no sub", method: "POST", path: "/v1/credentials", token: user(func(c jwt.MapClaims) { delete(c, "sub") }), status: 401, typ: "unauthorized"},
		{name: "wrong issuer", method: "POST", path: "/v1/credentials", token: user(func(c jwt.MapClaims) { c["iss"] = "evil" }), status: 401, typ: "unauthorized"},
		{name: "wrong audience", method: "POST", path: "/v1/credentials", token: user(func(c jwt.MapClaims) { c["aud"] = "other" }), status: 401, typ: "unauthorized"},
		{name: "not yet valid", method: "POST", path: "/v1/credentials", token: user(func(c jwt.MapClaims) { c["nbf"] = t0.Add(time.Hour).Unix() }), status: 401, typ: "unauthorized"},
		{name: "user token on an admin endpoint", method: "GET", path: "/v1/relays", token: user(), status: 403, typ: "forbidden"},
		{name: "node token on the credentials endpoint", method: "POST", path: "/v1/credentials", token: e.nodeToken("fra-1"), status: 403, typ: "forbidden"},
		{name: "admin token on a heartbeat", method: "PUT", path: "/v1/relays/fra-1", token: e.adminToken(), status: 403, typ: "forbidden"},
		{name: "node token for another relay", method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("ams-2"), status: 403, typ: "forbidden"},
		{name: "admin token on admin endpoint", method: "GET", path: "/v1/relays", token: e.adminToken(), status: 200},
		{name: "admin token signed HS256 with the public key's bytes", method: "GET", path: "/v1/relays", token: hsWithPublicKey(t, e), status: 401, typ: "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req{method: tt.method, path: tt.path, token: tt.token}
			if tt.method == "PUT" {
				r.body = fra1()
			}
			if tt.header != "" {
				r.header = map[string]string{"Authorization": tt.header}
			}
			resp, b := e.do(r)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.typ == "" {
				return
			}
			if p := problemOf(t, resp, b); p.Type != "urn:relaygate:problem:"+tt.typ {
				t.Errorf("type = %s, want %s", p.Type, tt.typ)
			}
			if tt.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
		})
	}
}

// hsWithPublicKey forges the classic HS/RS confusion: an HS256 token whose
// secret is the verifying public key's PEM.
func hsWithPublicKey(t *testing.T, e *env) string {
	der, _ := x509.MarshalPKIXPublicKey(e.adminKey.Public())
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return mustJWT(t, jwt.SigningMethodHS256, pemKey, jwt.MapClaims{"sub": "ops", "exp": t0.Add(time.Hour).Unix()})
}

func TestPublicKeyKinds(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name   string
		pub    any
		method jwt.SigningMethod
		key    any
		status int
	}{
		{name: "ES256 with a P-256 key", pub: &ec.PublicKey, method: jwt.SigningMethodES256, key: ec, status: 200},
		{name: "RS256 with an RSA key", pub: &rs.PublicKey, method: jwt.SigningMethodRS256, key: rs, status: 200},
		{name: "ES256 token refused by an RSA key", pub: &rs.PublicKey, method: jwt.SigningMethodES256, key: ec, status: 401},
		{name: "RS256 token refused by an ECDSA key", pub: &ec.PublicKey, method: jwt.SigningMethodRS256, key: rs, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, _ := x509.MarshalPKIXPublicKey(tt.pub)
			e := newEnv(t, func(c *api.Config) {
				c.Admin = api.KeyConfig{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
			})
			tok := mustJWT(t, tt.method, tt.key, jwt.MapClaims{"sub": "ops", "exp": t0.Add(time.Hour).Unix()})
			if resp, b := e.do(req{method: "GET", path: "/v1/relays", token: tok}); resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
		})
	}
}

func TestConfigRejections(t *testing.T) {
	tests := []struct {
		name string
		cfg  api.Config
		want string
	}{
		{name: "short HS256 secret", cfg: api.Config{User: api.KeyConfig{Secret: []byte("short")}}, want: "shorter than 32"},
		{name: "secret and public key", cfg: api.Config{User: api.KeyConfig{Secret: []byte(userSecret), PublicKeyPEM: []byte("x")}}, want: "choose one"},
		{name: "one key for two roles", cfg: api.Config{User: api.KeyConfig{Secret: []byte(userSecret)}, Admin: api.KeyConfig{Secret: []byte(userSecret)}}, want: "must differ"},
		{name: "not PEM", cfg: api.Config{Admin: api.KeyConfig{PublicKeyPEM: []byte("ssh-ed25519 AAAA")}}, want: "PUBLIC KEY"},
		{name: "heartbeat TTL too short", cfg: api.Config{HeartbeatTTL: time.Second}, want: "heartbeat TTL"},
		{name: "credential TTL too long", cfg: api.Config{CredentialTTL: 72 * time.Hour}, want: "credential TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := api.New(tt.cfg, api.Deps{Registry: e.gw, Picker: e.gw, Minter: e.gw})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	node := e.nodeToken("fra-1")
	big := `{"region":"` + strings.Repeat("a", 70<<10) + `"}`
	with := func(k string, v any) map[string]any { b := fra1(); b[k] = v; return b }
	without := func(k string) map[string]any { b := fra1(); delete(b, k); return b }

	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		status      int
		typ         string
		field       string
	}{
		{name: "unknown path", method: "GET", path: "/v2/nothing", status: 404, typ: "not-found"},
		{name: "wrong method", method: "DELETE", path: "/v1/credentials", status: 405, typ: "method-not-allowed"},
		{name: "body too large", method: "PUT", path: "/v1/relays/fra-1", body: big, contentType: "application/json", status: 413, typ: "body-too-large"},
		{name: "not JSON", method: "PUT", path: "/v1/relays/fra-1", body: "region=x", contentType: "application/x-www-form-urlencoded", status: 415, typ: "unsupported-media-type"},
		{name: "no content type", method: "PUT", path: "/v1/relays/fra-1", body: `{}`, status: 415, typ: "unsupported-media-type"},
		{name: "empty body", method: "PUT", path: "/v1/relays/fra-1", contentType: "application/json", status: 400, typ: "invalid-body"},
		{name: "malformed JSON", method: "PUT", path: "/v1/relays/fra-1", body: `{"region":`, contentType: "application/json", status: 400, typ: "invalid-body"},
		{name: "trailing data", method: "PUT", path: "/v1/relays/fra-1", body: `{"region":"x"} {}`, contentType: "application/json", status: 400, typ: "invalid-body"},
		{name: "array body", method: "PUT", path: "/v1/relays/fra-1", body: `[]`, contentType: "application/json", status: 400, typ: "invalid-body"},
		{name: "unknown field", method: "PUT", path: "/v1/relays/fra-1", body: with("colour", "red"), status: 400, typ: "invalid-body", field: "colour"},
		{name: "wrong type", method: "PUT", path: "/v1/relays/fra-1", body: with("latitude", "50"), status: 400, typ: "invalid-body", field: "latitude"},
		{name: "latitude out of range", method: "PUT", path: "/v1/relays/fra-1", body: with("latitude", 90.5), status: 400, typ: "invalid-body", field: "latitude"},
		{name: "longitude out of range", method: "PUT", path: "/v1/relays/fra-1", body: with("longitude", -180.1), status: 400, typ: "invalid-body", field: "longitude"},
		{name: "latitude missing", method: "PUT", path: "/v1/relays/fra-1", body: without("latitude"), status: 400, typ: "invalid-body", field: "latitude"},
		{name: "region not a slug", method: "PUT", path: "/v1/relays/fra-1", body: with("region", "EU Central"), status: 400, typ: "invalid-body", field: "region"},
		{name: "site missing", method: "PUT", path: "/v1/relays/fra-1", body: without("site"), status: 400, typ: "invalid-body", field: "site"},
		{name: "address not an IP", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"relay.example"}), status: 400, typ: "invalid-body", field: "addresses[0]"},
		{name: "address with zone", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"fe80::1%eth0"}), status: 400, typ: "invalid-body", field: "addresses[0]"},
		{name: "unspecified address", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"0.0.0.0"}), status: 400, typ: "invalid-body", field: "addresses[0]"},
		{name: "duplicate address", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"203.0.113.5", "203.0.113.5"}), status: 400, typ: "invalid-body", field: "addresses[1]"},
		{name: "no addresses", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{}), status: 400, typ: "invalid-body", field: "addresses"},
		{name: "metadata address", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"203.0.113.5", "169.254.169.254"}), status: 422, typ: "relay-address-refused", field: "addresses[1]"},
		{name: "loopback address", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"127.0.0.1"}), status: 422, typ: "relay-address-refused", field: "addresses[0]"},
		{name: "private address in NAT64 form", method: "PUT", path: "/v1/relays/fra-1", body: with("addresses", []string{"64:ff9b::a00:1"}), status: 422, typ: "relay-address-refused", field: "addresses[0]"},
		{name: "port zero", method: "PUT", path: "/v1/relays/fra-1", body: with("ports", map[string]any{"udp": 0}), status: 400, typ: "invalid-body", field: "ports.udp"},
		{name: "port too high", method: "PUT", path: "/v1/relays/fra-1", body: with("ports", map[string]any{"tcp": 65536}), status: 400, typ: "invalid-body", field: "ports.tcp"},
		{name: "no ports", method: "PUT", path: "/v1/relays/fra-1", body: with("ports", map[string]any{}), status: 400, typ: "invalid-body", field: "ports"},
		{name: "tls without hostname", method: "PUT", path: "/v1/relays/fra-1", body: without("hostname"), status: 400, typ: "invalid-body", field: "hostname"},
		{name: "bad hostname", method: "PUT", path: "/v1/relays/fra-1", body: with("hostname", "-bad-.example"), status: 400, typ: "invalid-body", field: "hostname"},
		{name: "negative capacity", method: "PUT", path: "/v1/relays/fra-1", body: with("capacity", map[string]any{"allocations": -1, "bandwidth_bps": 0}), status: 400, typ: "invalid-body", field: "capacity.allocations"},
		{name: "relay id not a slug", method: "PUT", path: "/v1/relays/FRA_1", body: fra1(), status: 400, typ: "invalid-parameter", field: "id"},
		{name: "measurement loss above 1", method: "POST", path: "/v1/credentials", body: map[string]any{"measurements": []any{map[string]any{"relay_id": "fra-1", "rtt_ms": 10, "loss": 1.5}}}, status: 400, typ: "invalid-body", field: "measurements[0].loss"},
		{name: "measurement without rtt", method: "POST", path: "/v1/credentials", body: map[string]any{"measurements": []any{map[string]any{"relay_id": "fra-1"}}}, status: 400, typ: "invalid-body", field: "measurements[0].rtt_ms"},
		{name: "unknown transport", method: "POST", path: "/v1/credentials", body: map[string]any{"transports": []string{"quic"}}, status: 400, typ: "invalid-body", field: "transports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := node
			if tt.method == "POST" {
				token = e.userToken("alice")
			}
			resp, b := e.do(req{method: tt.method, path: tt.path, token: token, body: tt.body, contentType: tt.contentType})
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			p := problemOf(t, resp, b)
			if p.Type != "urn:relaygate:problem:"+tt.typ || p.Title == "" || p.RequestID == "" {
				t.Errorf("problem = %+v, want type %s with title and request id", p, tt.typ)
			}
			if tt.field != "" {
				var fields []string
				for _, f := range p.Errors {
					fields = append(fields, f.Field)
				}
				if !strings.Contains(strings.Join(fields, ","), tt.field) {
					t.Errorf("errors name %v, want %s", fields, tt.field)
				}
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, b := e.do(req{method: "GET", path: p}); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, b)
		}
	}
	e.api.SetNotReady()
	resp, b := e.do(req{method: "GET", path: "/readyz"})
	if p := problemOf(t, resp, b); resp.StatusCode != 503 || p.Type != "urn:relaygate:problem:not-ready" {
		t.Errorf("readyz while shutting down = %d %s", resp.StatusCode, p.Type)
	}
	if resp, _ := e.do(req{method: "GET", path: "/healthz"}); resp.StatusCode != 200 {
		t.Errorf("healthz while shutting down = %d, want 200 (the process is alive)", resp.StatusCode)
	}
	e.reg.Close()
	e2 := newEnv(t)
	e2.reg.Close()
	if resp, _ := e2.do(req{method: "GET", path: "/readyz"}); resp.StatusCode != 503 {
		t.Errorf("readyz with a closed store = %d, want 503", resp.StatusCode)
	}
}

func TestSpecAndDocs(t *testing.T) {
	e := newEnv(t)
	resp, b := e.do(req{method: "GET", path: "/openapi.yaml"})
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "openapi: 3.1") {
		t.Fatalf("GET /openapi.yaml = %d %.40s", resp.StatusCode, b)
	}
	resp, b = e.do(req{method: "GET", path: "/docs"})
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Every script and stylesheet the page loads must come from us.
	page := string(b)
	for _, attr := range []string{`src="`, `href="`} {
		for _, part := range strings.Split(page, attr)[1:] {
			ref := part[:strings.IndexByte(part, '"')]
			if strings.Contains(ref, "//") {
				t.Errorf("/docs loads %q from another host", ref)
			}
			if strings.HasPrefix(ref, "/docs/") {
				// Not e.do: the assets are not in openapi.yaml.
				hr, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+ref, http.NoBody)
				if err != nil {
					t.Fatal(err)
				}
				r, err := http.DefaultClient.Do(hr)
				if err != nil {
					t.Errorf("asset %s: %v", ref, err)
					continue
				}
				r.Body.Close()
				if r.StatusCode != 200 {
					t.Errorf("asset %s: status %d", ref, r.StatusCode)
				}
			}
		}
	}
	if resp, _ := e.do(req{method: "GET", path: "/metrics"}); resp.StatusCode != 200 {
		t.Errorf("GET /metrics = %d", resp.StatusCode)
	}
}

// TestStoreUnavailable: with the store unreachable (a Redis at a loopback
// port nobody listens on), writes and registry reads answer 503
// store-unavailable with a Retry-After of the heartbeat interval, so a
// relay is back within one interval of the store's return; /readyz says
// not ready, as the gateway has no snapshot to serve from.
func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t)
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dead, err := store.NewRedis(redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1}), store.RedisConfig{PrivacyKey: storetest.PrivacyKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Close() })
	e.setStore(dead)
	admin := e.adminToken()
	for _, r := range []req{
		{method: "PUT", path: "/v1/relays/fra-1", token: e.nodeToken("fra-1"), body: fra1()},
		{method: "GET", path: "/v1/relays", token: admin},
		{method: "GET", path: "/v1/relays/fra-1", token: admin},
		{method: "POST", path: "/v1/relays/fra-1/drain", token: admin},
		{method: "DELETE", path: "/v1/relays/fra-1/drain", token: admin},
	} {
		resp, b := e.do(r)
		if p := problemOf(t, resp, b); resp.StatusCode != 503 || p.Type != "urn:relaygate:problem:store-unavailable" {
			t.Errorf("%s %s = %d %s, want 503 store-unavailable", r.method, r.path, resp.StatusCode, p.Type)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "5" {
			t.Errorf("%s %s: Retry-After %q, want 5 (the heartbeat interval)", r.method, r.path, ra)
		}
	}
	if resp, b := e.do(req{method: "GET", path: "/readyz"}); resp.StatusCode != 503 {
		t.Errorf("readyz with an unreachable store and no snapshot = %d %s, want 503", resp.StatusCode, b)
	}
}
