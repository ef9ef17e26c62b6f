// Package probe measures relays with STUN Binding transactions: round-trip
// time (smoothed, recent minimum and last), RTT jitter, loss over a sliding
// window, and a health state (up, degraded, down) with hysteresis, so that one
// lost probe never flaps a relay.
//
// A Prober probes every target once per Config.Interval. Each relay fires at a
// fixed phase inside the interval derived from a hash of its ID, so ten
// thousand relays are spread evenly over the interval instead of firing at
// once. All transactions share a few UDP sockets (one reader goroutine per
// socket) and are matched to their relay by STUN transaction ID and source
// address; timeouts are kept in one queue, not one goroutine or timer per
// probe. After a miss, a relay that is not yet down is re-probed as soon as
// the timeout expires, so a dead relay is declared down within about
// Interval + DownAfter×Timeout rather than DownAfter intervals.
//
// Results leave the package only through the report func given to New (in
// batches of changed results, at most about once per second) and through
// Results. Measure is a one-shot variant for command-line tools.
//
// The package refuses to know about HTTP, the registry or the store: the
// gateway hands it a targets func and a report func. It carries no client
// data; relay addresses are the operator's own and may appear in logs, which
// are rate-limited wherever a loop could repeat them.
package probe
