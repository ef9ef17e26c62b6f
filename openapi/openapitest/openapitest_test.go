package openapitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/relaygate/relaygate/openapi"
)

// recorder is a testing.TB that records failures instead of failing, so a
// test can assert that a check fails.
type recorder struct {
	testing.TB // nil: calling anything not overridden panics

	mu     sync.Mutex // guards below
	errors []string
	fatal  bool
}

func (*recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fatal = true
}

func (r *recorder) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errors)
}

// verdict fails t unless check (a Spec method) recorded failures exactly
// when the message it saw, a request or an answer, was not ok; it returns
// the failures.
func (r *recorder) verdict(t *testing.T, check, message string, ok bool) []string {
	t.Helper()
	got := r.failures()
	if ok && len(got) > 0 {
		t.Errorf("%s rejected a valid %s:\n%s", check, message, strings.Join(got, "\n"))
	}
	if !ok && len(got) == 0 {
		t.Errorf("%s accepted an invalid %s", check, message)
	}
	return got
}

const (
	problemJSON = "application/problem+json"
	appJSON     = "application/json"
)

// answer is what a fake handler sends.
type answer struct {
	status int
	ctype  string
	header http.Header
	body   string
}

var (
	relayStatus = `{"id": "fra-1", "region": "eu-central", "site": "fra", "latitude": 50.11, "longitude": 8.68,
		"addresses": ["203.0.113.5", "2001:db8::5"], "hostname": "fra-1.relay.example",
		"ports": {"udp": 3478, "tcp": 3478, "tls": 5349},
		"capacity": {"allocations": 10000, "bandwidth_bps": 1000000000},
		"load": {"allocations": 120, "bandwidth_bps": 32000000},
		"draining": false, "drained": false, "version": "0.1.0",
		"last_seen": "2026-11-25T21:20:03Z", "expires_at": "2026-11-25T21:20:18Z",
		"heartbeat_age_seconds": 1.4, "state": "available"%s}`
	credentials = `{"username": "1764113400:k2.6q1xkz0d9", "credential": "bjBMcTRZcDVYMnY3bThRbVMyazM=", "ttl_seconds": 600,
		"expires_at": "2026-11-25T21:30:00Z",
		"primary": {"relay_id": "fra-1", "region": "eu-central", "site": "fra", "hostname": "fra-1.relay.example",
			"urls": ["turn:203.0.113.5:3478?transport=udp", "turn:203.0.113.5:3478?transport=tcp",
				"turn:[2001:db8::5]:3478?transport=udp", "turns:fra-1.relay.example:5349?transport=tcp"],
			"estimated_rtt_ms": 14.2, "basis": "geo"},
		"ice_servers": [{"urls": ["turn:203.0.113.5:3478?transport=udp"], "username": "1764113400:k2.6q1xkz0d9",
			"credential": "bjBMcTRZcDVYMnY3bThRbVMyazM="}],
		"ice_transport_policy": %q}`
	heartbeat = `{"region": "eu-central", "site": "fra", "latitude": 50.11, "longitude": 8.68,
		"addresses": ["203.0.113.5", "2001:db8::5"], "hostname": "fra-1.relay.example",
		"ports": {"udp": 3478, "tcp": 3478, "tls": 5349},
		"capacity": {"allocations": 10000, "bandwidth_bps": 1000000000},
		"load": {"allocations": 120, "bandwidth_bps": 32000000},
		"draining": false, "version": "0.1.0"}`
)

func problem(status int, slug string) string {
	return fmt.Sprintf(`{"type": "urn:relaygate:problem:%s", "title": "t", "status": %d, "request_id": "r1"}`, slug, status)
}

func bearer() http.Header { return http.Header{"Www-Authenticate": {`Bearer realm="relaygate"`}} }

func TestCheckResponse(t *testing.T) {
	s := Load(t)
	tests := []struct {
		name         string
		method, path string
		reqBody      string
		answer       answer
		ok           bool
	}{
		{name: "healthz ok", method: "GET", path: "/healthz",
			answer: answer{200, appJSON, nil, `{"status": "ok"}`}, ok: true},
		{name: "healthz with charset", method: "GET", path: "/healthz",
			answer: answer{200, appJSON + "; charset=utf-8", nil, `{"status": "ok"}`}, ok: true},
		{name: "healthz status of wrong type", method: "GET", path: "/healthz",
			answer: answer{200, appJSON, nil, `{"status": 5}`}},
		{name: "healthz wrong status word", method: "GET", path: "/healthz",
			answer: answer{200, appJSON, nil, `{"status": "ready"}`}},
		{name: "healthz as text", method: "GET", path: "/healthz",
			answer: answer{200, "text/plain", nil, `ok`}},
		{name: "healthz empty body", method: "GET", path: "/healthz",
			answer: answer{200, appJSON, nil, ``}},
		{name: "healthz unlisted status", method: "GET", path: "/healthz",
			answer: answer{201, appJSON, nil, `{"status": "ok"}`}},
		{name: "readyz not ready", method: "GET", path: "/readyz",
			answer: answer{503, problemJSON, nil, problem(503, "not-ready")}, ok: true},
		{name: "readyz 503 of the wrong type", method: "GET", path: "/readyz",
			answer: answer{503, problemJSON, nil, problem(503, "no-relay-available")}},
		{name: "problem as application/json", method: "GET", path: "/readyz",
			answer: answer{503, appJSON, nil, problem(503, "not-ready")}},
		{name: "problem status differs from HTTP status", method: "GET", path: "/readyz",
			answer: answer{503, problemJSON, nil, problem(500, "not-ready")}},
		{name: "500 on any operation", method: "GET", path: "/metrics",
			answer: answer{500, problemJSON, nil, problem(500, "internal")}, ok: true},
		{name: "metrics", method: "GET", path: "/metrics",
			answer: answer{200, "text/plain; version=0.0.4; charset=utf-8", nil, "# TYPE x counter\nx 1\n"}, ok: true},
		{name: "openapi.yaml", method: "GET", path: "/openapi.yaml",
			answer: answer{200, "application/yaml", nil, string(openapi.Spec)}, ok: true},
		{name: "docs", method: "GET", path: "/docs",
			answer: answer{200, "text/html; charset=utf-8", nil, "<!doctype html><title>relaygate</title>"}, ok: true},

		{name: "401 with challenge", method: "POST", path: "/v1/credentials",
			answer: answer{401, problemJSON, bearer(), problem(401, "unauthorized")}, ok: true},
		{name: "401 without challenge", method: "POST", path: "/v1/credentials",
			answer: answer{401, problemJSON, nil, problem(401, "unauthorized")}},
		{name: "401 with a Basic challenge", method: "POST", path: "/v1/credentials",
			answer: answer{401, problemJSON, http.Header{"Www-Authenticate": {"Basic"}}, problem(401, "unauthorized")}},
		{name: "401 of type forbidden", method: "POST", path: "/v1/credentials",
			answer: answer{401, problemJSON, bearer(), problem(401, "forbidden")}},
		{name: "problem with an unknown type", method: "POST", path: "/v1/credentials",
			answer: answer{403, problemJSON, nil, problem(403, "nope")}},
		{name: "problem with an extra member", method: "POST", path: "/v1/credentials",
			answer: answer{403, problemJSON, nil, `{"type": "urn:relaygate:problem:forbidden", "title": "t", "status": 403, "requestId": "x"}`}},
		{name: "invalid body with field errors", method: "POST", path: "/v1/credentials", reqBody: `{"ttl_seconds": 1}`,
			answer: answer{400, problemJSON, nil, `{"type": "urn:relaygate:problem:invalid-body", "title": "t", "status": 400,
				"errors": [{"field": "ttl_seconds", "message": "must be between 60 and 172800"}]}`}, ok: true},
		{name: "field error without message", method: "POST", path: "/v1/credentials",
			answer: answer{400, problemJSON, nil, `{"type": "urn:relaygate:problem:invalid-body", "title": "t", "status": 400,
				"errors": [{"field": "ttl_seconds"}]}`}},
		{name: "credentials invalid-parameter is not a credentials answer", method: "POST", path: "/v1/credentials",
			answer: answer{400, problemJSON, nil, problem(400, "invalid-parameter")}},
		{name: "credentials", method: "POST", path: "/v1/credentials",
			answer: answer{200, appJSON, nil, fmt.Sprintf(credentials, "relay")}, ok: true},
		{name: "credentials with policy all", method: "POST", path: "/v1/credentials",
			answer: answer{200, appJSON, nil, fmt.Sprintf(credentials, "all")}},
		{name: "credentials no relay", method: "POST", path: "/v1/credentials",
			answer: answer{503, problemJSON, nil, problem(503, "no-relay-available")}, ok: true},
		{name: "credentials 404 is not listed", method: "POST", path: "/v1/credentials",
			answer: answer{404, problemJSON, nil, problem(404, "relay-not-found")}},
		{name: "turn", method: "GET", path: "/v1/turn?ttl=600&transport=udp&transport=tls",
			answer: answer{200, appJSON, nil, `{"username": "1764113400:k2.x", "password": "bjBMcTRZcDVYMnY3bThRbVMyazM=", "ttl": 600,
				"uris": ["turn:203.0.113.5:3478?transport=udp", "turns:fra-1.relay.example:5349?transport=tcp"]}`}, ok: true},
		{name: "turn with a password that is no HMAC-SHA1", method: "GET", path: "/v1/turn",
			answer: answer{200, appJSON, nil, `{"username": "1764113400:k2.x", "password": "cA==", "ttl": 600,
				"uris": ["turn:203.0.113.5:3478?transport=udp"]}`}},
		{name: "turn with a username without expiry", method: "GET", path: "/v1/turn",
			answer: answer{200, appJSON, nil, `{"username": "k2.x", "password": "bjBMcTRZcDVYMnY3bThRbVMyazM=", "ttl": 600,
				"uris": ["turn:203.0.113.5:3478?transport=udp"]}`}},
		{name: "problem instance not a URI reference", method: "GET", path: "/v1/relays/fra-9",
			answer: answer{404, problemJSON, nil, `{"type": "urn:relaygate:problem:relay-not-found", "title": "t", "status": 404, "instance": "/v1/relays/a b"}`}},
		{name: "problem instance", method: "GET", path: "/v1/relays/fra-9",
			answer: answer{404, problemJSON, nil, `{"type": "urn:relaygate:problem:relay-not-found", "title": "t", "status": 404, "instance": "/v1/relays/fra-9"}`}, ok: true},
		{name: "turn with a bad URI", method: "GET", path: "/v1/turn",
			answer: answer{200, appJSON, nil, `{"username": "1764113400:k2.x", "password": "bjBMcTRZcDVYMnY3bThRbVMyazM=", "ttl": 600,
				"uris": ["http://203.0.113.5"]}`}},

		{name: "heartbeat ack", method: "PUT", path: "/v1/relays/fra-1", reqBody: heartbeat,
			answer: answer{200, appJSON, nil, `{"ttl_seconds": 15, "heartbeat_interval_seconds": 5}`}, ok: true},
		{name: "heartbeat ack missing interval", method: "PUT", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, `{"ttl_seconds": 15}`}},
		{name: "heartbeat too large", method: "PUT", path: "/v1/relays/fra-1",
			answer: answer{413, problemJSON, nil, problem(413, "body-too-large")}, ok: true},
		{name: "heartbeat bad id", method: "PUT", path: "/v1/relays/FRA",
			answer: answer{400, problemJSON, nil, problem(400, "invalid-parameter")}, ok: true},
		{name: "relay", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, fmt.Sprintf(relayStatus, "")}, ok: true},
		{name: "relay with probe", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, fmt.Sprintf(relayStatus, `, "probe": {"rtt_ms": 3.2, "health": "up", "probed_at": "2026-11-25T21:20:01Z"}`)}, ok: true},
		{name: "relay with probe health unknown", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, fmt.Sprintf(relayStatus, `, "probe": {"health": "sideways"}`)}},
		{name: "relay with an extra member", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, fmt.Sprintf(relayStatus, `, "secret": "x"`)}},
		{name: "relay with a null hostname", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, strings.Replace(fmt.Sprintf(relayStatus, ""), `"fra-1.relay.example"`, `null`, 1)}},
		{name: "relay with a bad address", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, strings.Replace(fmt.Sprintf(relayStatus, ""), `"203.0.113.5"`, `"203.0.113.500"`, 1)}},
		{name: "relay with a bad hostname", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, strings.Replace(fmt.Sprintf(relayStatus, ""), `"fra-1.relay.example"`, `"-fra.example"`, 1)}},
		{name: "relay with a bad time", method: "GET", path: "/v1/relays/fra-1",
			answer: answer{200, appJSON, nil, strings.Replace(fmt.Sprintf(relayStatus, ""), `"2026-11-25T21:20:03Z"`, `"yesterday"`, 1)}},
		{name: "relay not found", method: "GET", path: "/v1/relays/fra-9",
			answer: answer{404, problemJSON, nil, problem(404, "relay-not-found")}, ok: true},
		{name: "relay 404 of type not-found", method: "GET", path: "/v1/relays/fra-9",
			answer: answer{404, problemJSON, nil, problem(404, "not-found")}},
		{name: "relays", method: "GET", path: "/v1/relays",
			answer: answer{200, appJSON, nil, `{"relays": [` + fmt.Sprintf(relayStatus, "") + `]}`}, ok: true},
		{name: "relays bare array", method: "GET", path: "/v1/relays",
			answer: answer{200, appJSON, nil, `[` + fmt.Sprintf(relayStatus, "") + `]`}},
		{name: "drain", method: "POST", path: "/v1/relays/fra-1/drain",
			answer: answer{200, appJSON, nil, strings.Replace(fmt.Sprintf(relayStatus, ""), `"drained": false`, `"drained": true`, 1)}, ok: true},

		{name: "unknown path", method: "GET", path: "/nope",
			answer: answer{404, problemJSON, nil, problem(404, "not-found")}, ok: true},
		{name: "unknown path as plain text", method: "GET", path: "/nope",
			answer: answer{404, "text/plain; charset=utf-8", nil, "404 page not found\n"}},
		{name: "unknown path as relay-not-found", method: "GET", path: "/nope",
			answer: answer{404, problemJSON, nil, problem(404, "relay-not-found")}},
		{name: "unknown path answered 200", method: "GET", path: "/nope",
			answer: answer{200, appJSON, nil, `{"status": "ok"}`}},
		{name: "trailing slash is another path", method: "GET", path: "/healthz/",
			answer: answer{200, appJSON, nil, `{"status": "ok"}`}},
		{name: "wrong method", method: "PATCH", path: "/v1/relays/fra-1",
			answer: answer{405, problemJSON, http.Header{"Allow": {"GET, PUT"}}, problem(405, "method-not-allowed")}, ok: true},
		{name: "wrong method without Allow", method: "PATCH", path: "/v1/relays/fra-1",
			answer: answer{405, problemJSON, nil, problem(405, "method-not-allowed")}},
		{name: "wrong method answered 404", method: "POST", path: "/healthz",
			answer: answer{404, problemJSON, nil, problem(404, "not-found")}},
		{name: "CORS preflight", method: "OPTIONS", path: "/v1/credentials",
			answer: answer{204, "", nil, ""}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the checker is shared: prove it is safe for concurrent use
			req := httptest.NewRequest(tt.method, tt.path, http.NoBody)
			if tt.name == "CORS preflight" {
				req.Header.Set("Origin", "https://app.example")
				req.Header.Set("Access-Control-Request-Method", "POST")
			}
			h := tt.answer.header.Clone()
			if h == nil {
				h = http.Header{}
			}
			if tt.answer.ctype != "" {
				h.Set("Content-Type", tt.answer.ctype)
			}
			var reqBody []byte
			if tt.reqBody != "" {
				reqBody = []byte(tt.reqBody)
			}
			rec := &recorder{}
			s.CheckResponse(rec, req, reqBody, tt.answer.status, h, []byte(tt.answer.body))
			got := rec.verdict(t, "CheckResponse", "answer", tt.ok)
			if len(got) > 0 && !strings.Contains(got[0], fmt.Sprintf("%s ", tt.method)) {
				t.Errorf("failure %q does not name the method %s", got[0], tt.method)
			}
		})
	}
}

func TestCheckResponseNamesOperation(t *testing.T) {
	s := Load(t)
	rec := &recorder{}
	req := httptest.NewRequest("GET", "/v1/relays/fra-1", http.NoBody)
	s.CheckResponse(rec, req, nil, 200, http.Header{"Content-Type": {appJSON}}, []byte(`{"id": "fra-1"}`))
	got := strings.Join(rec.failures(), "\n")
	for _, want := range []string{"GET /v1/relays/{id} (/v1/relays/fra-1)", "answered 200", "region"} {
		if !strings.Contains(got, want) {
			t.Errorf("failure %q does not contain %q", got, want)
		}
	}
}

func TestCheckRequest(t *testing.T) {
	s := Load(t)
	tests := []struct {
		name         string
		method, path string
		ctype        string
		body         string
		ok           bool
	}{
		{name: "heartbeat", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON, body: heartbeat, ok: true},
		{name: "minimal heartbeat", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON, ok: true,
			body: `{"region": "eu", "site": "fra", "latitude": 0, "longitude": 0, "addresses": ["2001:db8::5"], "ports": {"udp": 3478}}`},
		{name: "heartbeat without addresses", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: `{"region": "eu", "site": "fra", "latitude": 0, "longitude": 0, "ports": {"udp": 3478}}`},
		{name: "heartbeat with an unknown member", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"draining"`, `"drainig"`, 1)},
		{name: "heartbeat latitude out of range", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `50.11`, `91`, 1)},
		{name: "heartbeat address with a zone", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"2001:db8::5"`, `"fe80::1%eth0"`, 1)},
		{name: "heartbeat address is a name", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"2001:db8::5"`, `"relay.example"`, 1)},
		{name: "heartbeat duplicate address", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"2001:db8::5"`, `"203.0.113.5"`, 1)},
		{name: "heartbeat without ports", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `{"udp": 3478, "tcp": 3478, "tls": 5349}`, `{}`, 1)},
		{name: "heartbeat port zero", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"udp": 3478`, `"udp": 0`, 1)},
		{name: "heartbeat negative load", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"allocations": 120`, `"allocations": -1`, 1)},
		{name: "heartbeat bad region", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON,
			body: strings.Replace(heartbeat, `"eu-central"`, `"EU Central"`, 1)},
		{name: "heartbeat bad id", method: "PUT", path: "/v1/relays/-fra", ctype: appJSON, body: heartbeat},
		{name: "heartbeat without content type", method: "PUT", path: "/v1/relays/fra-1", body: heartbeat},
		{name: "heartbeat without body", method: "PUT", path: "/v1/relays/fra-1", ctype: appJSON},
		{name: "credentials without body", method: "POST", path: "/v1/credentials", ok: true},
		{name: "credentials", method: "POST", path: "/v1/credentials", ctype: appJSON, ok: true,
			body: `{"ttl_seconds": 600, "transports": ["udp", "tcp", "tls"], "measurements": [{"relay_id": "fra-1", "rtt_ms": 21.5, "loss": 0}]}`},
		{name: "credentials ttl too short", method: "POST", path: "/v1/credentials", ctype: appJSON, body: `{"ttl_seconds": 59}`},
		{name: "credentials unknown transport", method: "POST", path: "/v1/credentials", ctype: appJSON, body: `{"transports": ["quic"]}`},
		{name: "credentials duplicate transport", method: "POST", path: "/v1/credentials", ctype: appJSON, body: `{"transports": ["udp", "udp"]}`},
		{name: "credentials loss above 1", method: "POST", path: "/v1/credentials", ctype: appJSON,
			body: `{"measurements": [{"relay_id": "fra-1", "rtt_ms": 2, "loss": 1.5}]}`},
		{name: "turn", method: "GET", path: "/v1/turn?ttl=600&transport=udp&transport=tls", ok: true},
		{name: "turn bad transport", method: "GET", path: "/v1/turn?transport=quic"},
		{name: "turn ttl too long", method: "GET", path: "/v1/turn?ttl=172801"},
		{name: "unknown path", method: "GET", path: "/v2/turn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, http.NoBody) // no Authorization: security is not checked
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			rec := &recorder{}
			s.CheckRequest(rec, req, body)
			rec.verdict(t, "CheckRequest", "request", tt.ok)
		})
	}
}

func TestTransport(t *testing.T) {
	s := Load(t)
	answers := map[string]string{
		"/healthz":         `{"status": "ok"}`,
		"/readyz":          `{"status": 5}`,
		"/v1/relays/fra-1": `{"ttl_seconds": 15, "heartbeat_interval_seconds": 5}`, // once the heartbeat came through
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if b, _ := io.ReadAll(r.Body); r.URL.Path == "/v1/relays/fra-1" && !bytes.Equal(b, []byte(heartbeat)) {
			http.Error(w, "body not forwarded", http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", appJSON)
		if _, err := io.WriteString(w, answer); err != nil {
			t.Errorf("write %s: %v", r.URL.Path, err)
		}
	}))
	defer srv.Close()

	tests := []struct {
		name         string
		method, path string
		body         string
		ok           bool
		want         string
	}{
		{name: "valid answer", method: "GET", path: "/healthz", ok: true, want: `{"status": "ok"}`},
		{name: "request body forwarded", method: "PUT", path: "/v1/relays/fra-1", body: heartbeat, ok: true,
			want: `{"ttl_seconds": 15, "heartbeat_interval_seconds": 5}`},
		{name: "invalid answer", method: "GET", path: "/readyz", want: `{"status": 5}`},
		{name: "plain-text 404", method: "GET", path: "/nope", want: "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			client := &http.Client{Transport: s.Transport(rec, srv.Client().Transport)}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", appJSON)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if string(b) != tt.want {
				t.Errorf("body = %q, want %q (restored unchanged)", b, tt.want)
			}
			rec.verdict(t, "Transport", "answer", tt.ok)
		})
	}
}

func TestOperations(t *testing.T) {
	want := []Operation{
		{"GET", "/client/relaygate.d.ts", "getClientTypes"},
		{"GET", "/client/relaygate.js", "getClientModule"},
		{"GET", "/demo", "getDemo"},
		{"GET", "/demo/demo.css", "getDemoStyle"},
		{"GET", "/demo/demo.js", "getDemoModule"},
		{"GET", "/demo/token", "getDemoToken"},
		{"GET", "/docs", "getDocs"},
		{"GET", "/healthz", "getHealth"},
		{"GET", "/metrics", "getMetrics"},
		{"GET", "/openapi.yaml", "getOpenAPI"},
		{"GET", "/readyz", "getReadiness"},
		{"GET", "/v1/call-relays", "getCallRelays"},
		{"GET", "/v1/candidates", "listCandidates"},
		{"POST", "/v1/credentials", "createCredentials"},
		{"POST", "/v1/measurements", "postMeasurements"},
		{"GET", "/v1/relays", "listRelays"},
		{"GET", "/v1/relays/{id}", "getRelay"},
		{"PUT", "/v1/relays/{id}", "putRelayHeartbeat"},
		{"DELETE", "/v1/relays/{id}/drain", "undrainRelay"},
		{"POST", "/v1/relays/{id}/drain", "drainRelay"},
		{"DELETE", "/v1/revocations", "unrevokeSubject"},
		{"GET", "/v1/revocations", "listRevocations"},
		{"POST", "/v1/revocations", "revokeSubject"},
		{"GET", "/v1/turn", "getTurnServer"},
		{"GET", "/v1/usage", "getUsage"},
		{"GET", "/v1/usage/relays", "getRelayUsage"},
	}
	if got := Load(t).Operations(); !slices.Equal(got, want) {
		t.Errorf("Operations() = %v, want %v", got, want)
	}
}

func TestCheckSchema(t *testing.T) {
	s := Load(t)
	valid := map[string]any{"field": "ports.udp", "message": "must be a port in 1-65535"}
	tests := []struct {
		name      string
		component string
		v         any
		ok        bool
	}{
		{name: "valid object", component: "FieldError", v: valid, ok: true},
		{name: "Go struct by its JSON", component: "HeartbeatAck", v: struct {
			TTL      int `json:"ttl_seconds"`
			Interval int `json:"heartbeat_interval_seconds"`
		}{15, 5}, ok: true},
		{name: "required member missing", component: "FieldError", v: map[string]any{"field": "x"}},
		{name: "unknown member", component: "FieldError", v: map[string]any{"field": "x", "message": "y", "hint": "z"}},
		{name: "string format", component: "IPAddress", v: "203.0.113.500"},
		{name: "enum", component: "Transport", v: "quic"},
		{name: "no such component", component: "Heartbeet", v: valid},
		{name: "does not marshal", component: "FieldError", v: func() {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SchemaError(tt.component, tt.v); (err == nil) != tt.ok {
				t.Errorf("SchemaError(%s, %v) = %v, want ok %t", tt.component, tt.v, err, tt.ok)
			}
			r := &recorder{}
			s.CheckSchema(r, tt.component, tt.v)
			if failed := len(r.failures()) > 0; failed == tt.ok {
				t.Errorf("CheckSchema(%s, %v) failures %v, want ok %t", tt.component, tt.v, r.failures(), tt.ok)
			}
		})
	}
}

func TestObjects(t *testing.T) {
	objs := Load(t).Objects()
	if got, want := objs["Resources"], (Object{Properties: []string{"allocations", "bandwidth_bps"}, Required: []string{"allocations", "bandwidth_bps"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("Objects()[Resources] = %+v, want %+v", got, want)
	}
	if _, ok := objs["Transport"]; ok {
		t.Error("Objects() lists Transport, a string schema")
	}
}

func TestLoadRejectsInvalidSpec(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
	}{
		{name: "example violates its schema", old: "heartbeat_interval_seconds: 5\n", new: "heartbeat_interval_seconds: 0\n"},
		{name: "example address is not an IP", old: "addresses: ['203.0.113.5', '2001:db8::5']\n              hostname",
			new: "addresses: ['203.0.113.500']\n              hostname"},
		{name: "dangling reference", old: "$ref: '#/components/schemas/Heartbeat'", new: "$ref: '#/components/schemas/Heartbeet'"},
		{name: "not YAML", old: "openapi: 3.1.0", new: "openapi: [3.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := string(openapi.Spec)
			if !strings.Contains(spec, tt.old) {
				t.Fatalf("openapi.yaml no longer contains %q; update the test", tt.old)
			}
			if _, err := parse([]byte(strings.Replace(spec, tt.old, tt.new, 1))); err == nil {
				t.Errorf("parse accepted a spec where %s", tt.name)
			}
		})
	}
}
