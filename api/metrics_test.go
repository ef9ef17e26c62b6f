package api_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaygate/relaygate/api"
)

// TestMetricsExportedFromTheStart: label values known up front are
// exported at zero before any request, so every family is on the first
// scrape; the region of credentials appears once a credential names it.
func TestMetricsExportedFromTheStart(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	e.rebuild(func(d *api.Deps) { d.Metrics = api.NewMetrics(reg) })
	for _, want := range []struct{ name, labels string }{
		{"relaygate_http_requests_total", `method="POST",route="/v1/credentials",status="200"`},
		{"relaygate_http_requests_total", `method="PUT",route="/v1/relays/{id}",status="200"`},
		{"relaygate_http_request_duration_seconds", `route="/v1/turn"`},
		{"relaygate_auth_failures_total", `reason="bad_signature",role="user"`},
		{"relaygate_auth_failures_total", `reason="subject_mismatch",role="node"`},
		{"relaygate_credentials_issued_total", `basis="fallback"`},
		{"relaygate_rate_limited_total", `scope="relay"`},
		{"relaygate_heartbeats_total", ``},
	} {
		if !exported(t, reg, want.name, want.labels) {
			t.Errorf("%s{%s} is not exported before any request", want.name, want.labels)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "relaygate_credentials_issued_by_region_total"); err != nil || n != 0 {
		t.Errorf("credentials by region before any credential: %d series, %v; want 0", n, err)
	}

	e.register("fra-1", fra1())
	resp, b := e.do(req{method: "POST", path: "/v1/credentials", token: e.userToken("alice")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/credentials: %d %s", resp.StatusCode, b)
	}
	if !exported(t, reg, "relaygate_credentials_issued_by_region_total", `region="eu-central"`) {
		t.Error(`relaygate_credentials_issued_by_region_total{region="eu-central"} not exported after a credential`)
	}
}

// exported reports whether reg has a series of name whose labels, sorted
// and joined as in the text format, are labels.
func exported(t *testing.T, reg *prometheus.Registry, name, labels string) bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var s string
			for i, lp := range m.GetLabel() {
				if i > 0 {
					s += ","
				}
				s += lp.GetName() + `="` + lp.GetValue() + `"`
			}
			if s == labels {
				return true
			}
		}
	}
	return false
}
