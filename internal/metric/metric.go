// Package metric declares Prometheus collectors in one line each: a name, a
// help text and, for vectors, the label names. It adds nothing to
// client_golang beyond brevity; every collector it returns is the library's
// own, unregistered.
//
// Label names are fixed words chosen by the caller; no metric of this
// project carries a user, a username or an address as a label value.
package metric

import "github.com/prometheus/client_golang/prometheus"

// Counter declares a counter.
func Counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// CounterVec declares a counter partitioned by labels.
func CounterVec(name, help string, labels []string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// CounterFunc declares a counter whose value f reads when scraped.
func CounterFunc(name, help string, f func() float64) prometheus.CounterFunc {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
}

// GaugeFunc declares a gauge whose value f reads when scraped.
func GaugeFunc(name, help string, f func() float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

// HistogramVec declares a histogram with the given buckets, partitioned by
// labels.
func HistogramVec(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}
