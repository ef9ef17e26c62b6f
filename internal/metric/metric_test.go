package metric_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaygate/relaygate/internal/metric"
)

// TestDeclared: each constructor gives the library's collector with the
// name, help, kind, buckets and labels it was handed.
func TestDeclared(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, cv := metric.Counter("t_total", "A counter."), metric.CounterVec("t_by_kind_total", "By kind.", []string{"kind"})
	h := metric.HistogramVec("t_seconds", "Latency.", []float64{.5, 1}, []string{"route"})
	reg.MustRegister(c, cv, h,
		metric.CounterFunc("t_func_total", "A counter read at scrape.", func() float64 { return 7 }),
		metric.GaugeFunc("t_gauge", "A gauge read at scrape.", func() float64 { return 3 }))
	c.Inc()
	cv.WithLabelValues("a").Add(2)
	h.WithLabelValues("/x").Observe(0.7)
	want := `
# HELP t_by_kind_total By kind.
# TYPE t_by_kind_total counter
t_by_kind_total{kind="a"} 2
# HELP t_func_total A counter read at scrape.
# TYPE t_func_total counter
t_func_total 7
# HELP t_gauge A gauge read at scrape.
# TYPE t_gauge gauge
t_gauge 3
# HELP t_seconds Latency.
# TYPE t_seconds histogram
t_seconds_bucket{route="/x",le="0.5"} 0
t_seconds_bucket{route="/x",le="1"} 1
t_seconds_bucket{route="/x",le="+Inf"} 1
t_seconds_sum{route="/x"} 0.7
t_seconds_count{route="/x"} 1
# HELP t_total A counter.
# TYPE t_total counter
t_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
