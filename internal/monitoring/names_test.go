package monitoring

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{name: "bare name", expr: "up", want: []string{"up"}},
		{name: "comparison", expr: `up{job="relaygate"} == 0`, want: []string{"up"}},
		{name: "matchers are not names", expr: `relaygate_relays{state="down", region=~"eu-.*"} > 0`, want: []string{"relaygate_relays"}},
		{name: "matcher values with braces and quotes", expr: `x{a="}{\"", b='(]'} + y`, want: []string{"x", "y"}},
		{name: "function and range", expr: `rate(relaygate_http_requests_total[5m])`, want: []string{"relaygate_http_requests_total"}},
		{name: "grafana variables", expr: `sum(rate(a_total{instance=~"$gateway"}[$__rate_interval])) / ${scale}`, want: []string{"a_total"}},
		{name: "aggregation with by before", expr: `sum by (route, status) (rate(b_total[5m]))`, want: []string{"b_total"}},
		{name: "aggregation with by after", expr: `sum(rate(b_total[5m])) by (instance, op)`, want: []string{"b_total"}},
		{name: "without", expr: `max without (instance) (c)`, want: []string{"c"}},
		{name: "histogram quantile", expr: `histogram_quantile(0.99, sum by (le) (rate(d_seconds_bucket{route="/v1/credentials"}[5m]))) > 0.25`, want: []string{"d_seconds_bucket"}},
		{name: "vector matching", expr: `e / on (instance) group_left (region) f`, want: []string{"e", "f"}},
		{name: "group_left without labels", expr: `e * on (instance) group_left f`, want: []string{"e", "f"}},
		{name: "set operators and bool", expr: `g > bool 1 and h unless i or j`, want: []string{"g", "h", "i", "j"}},
		{name: "numbers and time", expr: `k - time() < 14 * 86400 + 1e-3 + 0x1f + 1.5e+2`, want: []string{"k"}},
		{name: "offset and at", expr: `l offset 1h30m + m @ start()`, want: []string{"l", "m"}},
		{name: "subquery", expr: `max_over_time(rate(n_total[1m])[10m:30s])`, want: []string{"n_total"}},
		{name: "each name once", expr: `o_sum / o_count + o_sum`, want: []string{"o_sum", "o_count"}},
		{name: "colons in recording rule names", expr: `job:p_total:rate5m`, want: []string{"job:p_total:rate5m"}},
		{name: "comment", expr: "q # r_total\n+ s", want: []string{"q", "s"}},
		{name: "keywords are not names", expr: `t > inf or u < nan`, want: []string{"t", "u"}},
		{name: "topk parameter", expr: `topk(5, v)`, want: []string{"v"}},
		{name: "multi-line", expr: "sum(rate(w[5m]))\n  / sum(rate(x[5m])) > 0.1", want: []string{"w", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricNames(tt.expr)
			if err != nil {
				t.Fatalf("metricNames(%q) error = %v", tt.expr, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestMetricNamesRefusesUnbalanced(t *testing.T) {
	for _, expr := range []string{`sum(a`, `a)`, `a{b="c"`, `a{b="c}`, `rate(a[5m)`, `a]`, `a}`, `"open`, "`open"} {
		if got, err := metricNames(expr); !errors.Is(err, ErrSyntax) {
			t.Errorf("metricNames(%q) = %q, %v; want ErrSyntax", expr, got, err)
		}
	}
}

// FuzzMetricNames: no input panics or hangs, and every name found is an
// identifier that occurs in the input.
func FuzzMetricNames(f *testing.F) {
	f.Add(`sum by (le) (rate(a_bucket{x="y"}[5m])) / on (i) group_left b`)
	f.Add(`x{a="}{\"", b='(]'} + ${v} - $__rate_interval`)
	f.Add("q # c\n+ 1e-3 + 0x1f offset 5m")
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := metricNames(expr)
		if err != nil {
			return
		}
		for _, n := range names {
			if n == "" || !strings.Contains(expr, n) || strings.IndexFunc(n, func(r rune) bool { return r > 127 || !isIdentPart(byte(r)) }) >= 0 {
				t.Fatalf("metricNames(%q) has %q", expr, n)
			}
		}
	})
}
