package main

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// small is the test world: 60 relays and 5k clients, sized for -race.
var small = []string{"--relays=60", "--clients=5000", "--warmup=16", "--rounds=4"}

func simulateSmall(t *testing.T, extra ...string) *outcome {
	t.Helper()
	cfg, err := parseConfig(append(append([]string{}, small...), extra...), io.Discard)
	if err != nil {
		t.Fatalf("parseConfig() error = %v", err)
	}
	out, err := simulate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("simulate() error = %v", err)
	}
	return out
}

func all(int) bool { return true }

func TestMeasuredBeatsGeo(t *testing.T) {
	out := simulateSmall(t)
	geo, measured, shipped := out.summarise(stratGeo, all), out.summarise(stratMeasured, all), out.summarise(stratShipped, all)
	t.Logf("regret p50/p95/mean: geo-only %.1f/%.1f/%.2f, measured %.1f/%.1f/%.2f, shipped %.1f/%.1f/%.2f",
		geo.p50, geo.p95, geo.mean, measured.p50, measured.p95, measured.mean, shipped.p50, shipped.p95, shipped.mean)
	if measured.p95 >= geo.p95 || measured.mean >= geo.mean {
		t.Errorf("measured regret p95/mean = %.1f/%.2f, want below geo-only's %.1f/%.2f", measured.p95, measured.mean, geo.p95, geo.mean)
	}
	if shipped.p95 >= geo.p95 || shipped.mean >= geo.mean {
		t.Errorf("shipped regret p95/mean = %.1f/%.2f, want below geo-only's %.1f/%.2f", shipped.p95, shipped.mean, geo.p95, geo.mean)
	}
	if shipped.changes >= measured.changes {
		t.Errorf("shipped primary changes = %.2f %%, want fewer than measured's %.2f %% (hysteresis)", 100*shipped.changes, 100*measured.changes)
	}
	for s, st := range []stats{geo, measured, shipped} {
		if st.sameSite != 0 || st.noBackup != 0 {
			t.Errorf("%s: backup at the primary's site %.2f %%, no backup %.2f %%, want 0 with many sites", strategyNames[s], 100*st.sameSite, 100*st.noBackup)
		}
	}
}

// TestIssueTargets asserts issue 4's targets over the small world, wrong
// GeoIP and lossy, overloaded and down relays included: with measurements
// median regret 0 and p95 <= 5 ms, clearly better than geo-only. The
// shipped ranking adds hysteresis, which by design may keep a primary up to
// 10 ms worse than the best; in the small world (fewer warm-up rounds than
// the default run, where shipped p95 is 3.5 ms) it gets that allowance.
func TestIssueTargets(t *testing.T) {
	out := simulateSmall(t)
	geo := out.summarise(stratGeo, all)
	for _, c := range []struct {
		s      int
		maxP95 float64
	}{{stratMeasured, 5}, {stratShipped, 5 + 10}} {
		st := out.summarise(c.s, all)
		if st.p50 >= 0.05 || st.p95 > c.maxP95 || geo.p95 <= 4*st.p95 { // p50 prints as 0.0
			t.Errorf("regret p50/p95: %s %.1f/%.1f ms, geo-only %.1f/%.1f; want 0 and <= %.0f, geo-only far worse",
				strategyNames[c.s], st.p50, st.p95, geo.p50, geo.p95, c.maxP95)
		}
	}
	// Even where the ranking has what it needs: GeoIP right, and probes
	// that do not see distance (a gateway beside every relay).
	out = simulateSmall(t, "--gateway=")
	right := func(c int) bool { return !out.w.prefixes[out.w.prefixOf(c)].geoWrong }
	for _, s := range []int{stratMeasured, stratShipped} {
		if st := out.summarise(s, right); st.p50 >= 0.05 || st.p95 > 5 {
			t.Errorf("GeoIP right, no probe distance: %s regret p50/p95 = %.1f/%.1f ms, want 0 and <= 5", strategyNames[s], st.p50, st.p95)
		}
	}
}

func TestDeterministic(t *testing.T) {
	report := func(args ...string) string {
		cfg, err := parseConfig(append(append([]string{}, small...), args...), io.Discard)
		if err != nil {
			t.Fatalf("parseConfig() error = %v", err)
		}
		cfg.Clients, cfg.Warmup = 1000, 8
		out, err := simulate(context.Background(), cfg)
		if err != nil {
			t.Fatalf("simulate() error = %v", err)
		}
		var b bytes.Buffer
		if err := out.print(&b); err != nil {
			t.Fatalf("print() error = %v", err)
		}
		return b.String()
	}
	a, b := report("--seed=7", "--workers=1"), report("--seed=7", "--workers=3")
	if a != b {
		t.Errorf("same seed, different output:\n%s\n---\n%s", a, b)
	}
	if c := report("--seed=8"); c == a {
		t.Errorf("seeds 7 and 8 printed the same table:\n%s", a)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "too few relays", args: []string{"--relays=1"}},
		{name: "share above one", args: []string{"--geoip-wrong=1.5"}},
		{name: "unknown gateway", args: []string{"--gateway=xyz"}},
		{name: "one round", args: []string{"--rounds=1"}},
		{name: "stray argument", args: []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			if err := run(context.Background(), tt.args, &stdout, io.Discard); err == nil {
				t.Errorf("run(%q) error = nil, want one", tt.args)
			}
		})
	}
}

// TestFirstCallTarget asserts issue 15's target for the first call of a
// prefix nobody has measured: measuring the offered candidates first brings
// its regret p95 to at most a third of GeoIP alone's, and does not make the
// correctly located prefixes' median worse.
func TestFirstCallTarget(t *testing.T) {
	cfg, err := parseConfig(append(append([]string{}, small...), "--first-call"), io.Discard)
	if err != nil {
		t.Fatalf("parseConfig() error = %v", err)
	}
	fc, err := simulateFirstCalls(context.Background(), cfg)
	if err != nil {
		t.Fatalf("simulateFirstCalls() error = %v", err)
	}
	everyone := func(int) bool { return true }
	right := func(p int) bool { return !fc.w.prefixes[p].geoWrong }
	_, geoP95, _, geoMean, n := quantiles(fc.geo, everyone)
	_, preP95, _, preMean, _ := quantiles(fc.pre, everyone)
	t.Logf("%d prefixes: first-call regret p95/mean GeoIP only %.1f/%.2f ms, measured first %.1f/%.2f ms", n, geoP95, geoMean, preP95, preMean)
	if preP95 > geoP95/3 {
		t.Errorf("measured first p95 = %.1f ms, want at most a third of GeoIP only's %.1f ms", preP95, geoP95)
	}
	geoRight, _, _, _, _ := quantiles(fc.geo, right)
	preRight, _, _, _, _ := quantiles(fc.pre, right)
	if preRight > geoRight {
		t.Errorf("correctly located prefixes: measured first median %.1f ms, worse than GeoIP only's %.1f ms", preRight, geoRight)
	}
	var out bytes.Buffer
	if err := fc.print(&out); err != nil || !bytes.Contains(out.Bytes(), []byte("measured first")) {
		t.Errorf("print() = %v, %q", err, out.String())
	}
}
