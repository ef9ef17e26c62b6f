// Package monitoring holds the operator's monitoring files to the binaries:
// its tests run relaygate and relaynode, scrape their /metrics, and fail
// when an expression of deployments/grafana/relaygate-dashboard.json or
// deployments/prometheus/relaygate-alerts.yaml names a metric neither
// exports, when a family is missing from the first scrape, or when any
// exported label is one that could carry a user or an address.
//
// It has no code of its own beyond what the tests need: PromQL's metric
// names are read by a small extractor (names.go) rather than by
// github.com/prometheus/prometheus/promql/parser, whose module would bring
// hundreds of go.sum lines (Kubernetes, cloud SDKs) into the module for one
// test; the expressions are our own, and the extractor's table test and
// fuzz target cover the PromQL they use.
package monitoring
