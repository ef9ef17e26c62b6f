package browser

import (
	"strings"
	"testing"
)

// preCallResult is what the page saw of a first rtcConfiguration().
type preCallResult struct {
	Candidates []string  `json:"candidates"` // relay ids GET /v1/candidates offered
	Bodies     []string  `json:"bodies"`     // every POST /v1/credentials body, in order
	Measured   []string  `json:"measured"`   // relay ids of the pre-call measurement event
	RTTs       []float64 `json:"rtts"`
	SpentMs    float64   `json:"spentMs"`
	Basis      string    `json:"basis"` // the final answer's primary basis
	Errors     []string  `json:"errors"`
}

// TestPreCallMeasurement: before its first call relaygate.js measures the
// relays GET /v1/candidates offers (two relay-only connections through each,
// half of ICE's check RTT), sends the times inline with the credentials
// request, and the answer is placed on them (basis "measured") although the
// client's network was never measured and GeoIP cannot place it. No request
// body carries an address.
func TestPreCallMeasurement(t *testing.T) {
	requireChromium(t)
	e := newEnv(t, envConfig{portBase: 63000})
	ctx := e.browser()
	// A budget well above the gateway's 300 ms: on a loaded 2-core box
	// Chromium may take longer than that to set the connections up; the
	// behaviour, not the speed, is under test.
	r := eval[preCallResult](ctx, t, `(async () => {
  const q = new URLSearchParams(location.search), gw = q.get('gw'), token = q.get('token');
  const { RelayGate } = await import(gw + '/client/relaygate.js');
  const out = { candidates: [], bodies: [], measured: [], rtts: [], spentMs: -1, basis: '', errors: [] };
  const f = async (url, init) => {
    const resp = await fetch(url, init);
    if (String(url).endsWith('/v1/credentials')) out.bodies.push(String(init.body));
    if (String(url).includes('/v1/candidates')) out.candidates = (await resp.clone().json()).candidates.map((c) => c.relay_id);
    return resp;
  };
  const rg = new RelayGate({ gateway: gw, token, preCallBudgetMs: 2000, fetch: f });
  rg.addEventListener('measurement', (e) => {
    if (!e.detail.preCall) return;
    out.measured = e.detail.measurements.map((m) => m.relay_id);
    out.rtts = e.detail.measurements.map((m) => m.rtt_ms);
    out.spentMs = e.detail.ms;
  });
  rg.addEventListener('error', (e) => out.errors.push(String(e.detail.error)));
  const cfg = await rg.rtcConfiguration();
  if (cfg.iceTransportPolicy !== 'relay') out.errors.push('policy ' + cfg.iceTransportPolicy);
  out.basis = rg.credentials.primary.basis;
  return out;
})()`)
	t.Logf("pre-call measurement: %d candidate(s) %v, measured %v, RTT %v ms, %.0f ms spent", len(r.Candidates), r.Candidates, r.Measured, r.RTTs, r.SpentMs)
	if len(r.Errors) > 0 {
		t.Fatalf("page errors: %v", r.Errors)
	}
	if len(r.Candidates) == 0 {
		t.Fatal("GET /v1/candidates offered no relay")
	}
	if strings.Join(r.Measured, ",") != strings.Join(r.Candidates, ",") {
		t.Errorf("measured %v, want every candidate %v", r.Measured, r.Candidates)
	}
	for _, rtt := range r.RTTs {
		if rtt < 0 || rtt > 2000 {
			t.Errorf("RTT %v ms to a relay on loopback", rtt)
		}
	}
	if len(r.Bodies) != 2 {
		t.Fatalf("%d POST /v1/credentials, want 2 (GeoIP answer for the credentials, then the measured one): %q", len(r.Bodies), r.Bodies)
	}
	if strings.Contains(r.Bodies[0], "measurements") {
		t.Errorf("first credentials request carries measurements: %s", r.Bodies[0])
	}
	for _, id := range r.Candidates {
		if !strings.Contains(r.Bodies[1], `"relay_id":"`+id+`"`) {
			t.Errorf("second credentials request lacks %s's measurement: %s", id, r.Bodies[1])
		}
	}
	for _, b := range r.Bodies {
		if strings.Contains(b, "127.0.0.") || strings.Contains(b, "::1") {
			t.Errorf("a credentials request carries an address: %s", b)
		}
	}
	if r.Basis != "measured" {
		t.Errorf("first call's primary basis = %q, want measured", r.Basis)
	}
}
