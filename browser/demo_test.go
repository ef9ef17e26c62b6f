package browser

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoCandidate is a candidate as the demo page keeps it.
type demoCandidate struct {
	Type    string `json:"type"`
	Address string `json:"address"`
	Port    int    `json:"port"`
}

// demoRelay is a relay of the answer as the demo page keeps it.
type demoRelay struct {
	RelayID string   `json:"relay_id"`
	Site    string   `json:"site"`
	Basis   string   `json:"basis"`
	URLs    []string `json:"urls"`
}

// demoState is the demo page's window.demoState.
type demoState struct {
	Phase       string `json:"phase"`
	Error       string `json:"error"`
	TokenSource string `json:"tokenSource"`
	Answer      struct {
		Primary *demoRelay `json:"primary"`
		Backup  *demoRelay `json:"backup"`
	} `json:"answer"`
	Carrier *struct {
		RelayID string `json:"relay_id"`
		Role    string `json:"role"`
	} `json:"carrier"`
	Sides map[string]struct {
		State  string         `json:"state"`
		Local  *demoCandidate `json:"local"`
		Remote *demoCandidate `json:"remote"`
		Relay  *struct {
			RelayID string `json:"relay_id"`
			Role    string `json:"role"`
		} `json:"relay"`
		RTTMs    *float64 `json:"rttMs"`
		JitterMs *float64 `json:"jitterMs"`
		LossPct  *float64 `json:"lossPct"`
		InKbps   *float64 `json:"inKbps"`
		OutKbps  *float64 `json:"outKbps"`
	} `json:"sides"`
	Updates int `json:"updates"`
}

// demoPNG names the file TestDemoPage writes its mid-call screenshot to,
// when set (docs/demo.png is made so: RELAYGATE_DEMO_PNG=../docs/demo.png).
const demoPNG = "RELAYGATE_DEMO_PNG"

// callShown is true once the demo page shows a connected call with a few
// rounds of stats, audio flowing both ways.
const callShown = `demoState.phase === 'connected' && demoState.updates >= 3 &&
	['caller', 'callee'].every((n) => { const s = demoState.sides[n];
		return s && s.rttMs != null && s.jitterMs != null && s.lossPct != null && s.inKbps > 0 && s.outKbps > 0; })`

// TestDemoPage opens GET /demo on a gateway started with --demo and clicks
// "Start call": with a token the gateway minted, the page's relay-only call
// connects, both ends on relay candidates of the answer's primary, and the
// page shows that relay and live stats, never the browser's own address.
// Then it hangs up and calls again with a pasted token.
func TestDemoPage(t *testing.T) {
	requireChromium(t)
	t.Parallel()
	e := newEnv(t, envConfig{portBase: 51000, demo: true})
	ctx := e.chromium()
	if err := e.do(ctx, 30*time.Second, chromedp.EmulateViewport(1000, 1010), chromedp.Navigate(e.gateway+"/demo")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	if err := poll(ctx, 15*time.Second, 50*time.Millisecond, `window.demoState && demoState.ready`); err != nil {
		t.Fatalf("demo page never loaded its module (CSP or import): %v", err)
	}

	if err := e.do(ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#start"))); err != nil {
		t.Fatalf("click Start call: %v", err)
	}
	st := awaitDemoCall(ctx, t)
	if st.TokenSource != "minted" {
		t.Errorf("token source %q, want minted (the token field was empty)", st.TokenSource)
	}
	e.checkDemoCall(ctx, t, st)

	shot, err := run(ctx, 10*time.Second, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("Page.captureScreenshot: %v", err)
	}
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(shot))
	}
	t.Logf("mid-call screenshot: %d bytes", len(shot))
	if path := os.Getenv(demoPNG); path != "" {
		if err := os.WriteFile(path, shot, 0o644); err != nil { //nolint:gosec // G306: a picture for the docs
			t.Fatal(err)
		}
	}

	if err := e.do(ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#stop"))); err != nil {
		t.Fatalf("click Hang up: %v", err)
	}
	if err := poll(ctx, 10*time.Second, 50*time.Millisecond, `demoState.phase === 'ended'`); err != nil {
		t.Fatalf("hang up: %v; state %+v", err, eval[demoState](ctx, t, `demoState`))
	}

	// A pasted token (the app's own, as a developer without --demo would paste) works the same.
	if err := e.do(ctx, 10*time.Second, chromedp.SetValue(chromedp.CSS("#token"), e.user), chromedp.Click(chromedp.CSS("#start"))); err != nil {
		t.Fatalf("paste the token and start: %v", err)
	}
	st = awaitDemoCall(ctx, t)
	if st.TokenSource != "pasted" {
		t.Errorf("token source %q, want pasted", st.TokenSource)
	}
	e.checkDemoCall(ctx, t, st)
}

// awaitDemoCall waits until the page shows a connected call with stats.
func awaitDemoCall(ctx context.Context, t *testing.T) demoState {
	t.Helper()
	if err := poll(ctx, 30*time.Second, 100*time.Millisecond, callShown); err != nil {
		t.Fatalf("no connected call with stats within 30s: %v; state %+v", err, eval[demoState](ctx, t, `demoState`))
	}
	return eval[demoState](ctx, t, `demoState`)
}

// checkDemoCall: both ends' selected pairs are relay to relay on the
// answer's primary (by the page, and by the relay that owns the port), the
// page names the primary as the carrier, and no text or state of the page
// holds the browser's own address, 127.0.0.1 (the relays are 127.0.0.2 and
// 127.0.0.3).
func (e *env) checkDemoCall(ctx context.Context, t *testing.T, st demoState) {
	t.Helper()
	p := st.Answer.Primary
	if p == nil || p.RelayID == "" || p.Site == "" || p.Basis == "" || len(p.URLs) == 0 {
		t.Fatalf("page shows no complete primary: %+v", p)
	}
	if b := st.Answer.Backup; b == nil || b.RelayID == "" || b.RelayID == p.RelayID {
		t.Errorf("page shows backup %+v, want the other relay", b)
	}
	for _, name := range []string{"caller", "callee"} {
		s := st.Sides[name]
		if s.Local == nil || s.Remote == nil || s.Local.Type != "relay" || s.Remote.Type != "relay" {
			t.Errorf("%s's selected pair is %+v -> %+v, want relay -> relay", name, s.Local, s.Remote)
			continue
		}
		if r := e.relayOf(s.Local.Port); r == nil || r.id != p.RelayID {
			t.Errorf("%s's local relay candidate port %d is on %v, want the primary %s", name, s.Local.Port, r, p.RelayID)
		}
		if s.Relay == nil || s.Relay.RelayID != p.RelayID || s.Relay.Role != "primary" {
			t.Errorf("page shows %s's relay as %+v, want %s (primary)", name, s.Relay, p.RelayID)
		}
		t.Logf("%s: %s:%d -> %s:%d, rtt %.1f ms, jitter %.1f ms, loss %.1f %%, in %.1f kbit/s, out %.1f kbit/s",
			name, s.Local.Address, s.Local.Port, s.Remote.Address, s.Remote.Port, *s.RTTMs, *s.JitterMs, *s.LossPct, *s.InKbps, *s.OutKbps)
	}
	if st.Carrier == nil || st.Carrier.RelayID != p.RelayID || st.Carrier.Role != "primary" {
		t.Errorf("page shows the call carried by %+v, want %s (primary)", st.Carrier, p.RelayID)
	}
	text := eval[string](ctx, t, `document.body.innerText`)
	if !strings.Contains(text, "carried by "+p.RelayID+" (primary)") {
		t.Errorf("page text does not name the carrier %s:\n%s", p.RelayID, text)
	}
	for what, s := range map[string]string{"text": text, "state": eval[string](ctx, t, `JSON.stringify(demoState)`), "html": eval[string](ctx, t, `document.documentElement.outerHTML`)} {
		if strings.Contains(s, "127.0.0.1") {
			t.Errorf("page %s shows the browser's own address 127.0.0.1:\n%s", what, s)
		}
	}
}
