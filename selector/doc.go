// Package selector ranks relays for one client: which relay should carry a
// call (primary) and which should stand by at another site (backup).
//
// Everything here is a pure function over an immutable Snapshot and plain
// values: no I/O, no goroutines, no logging, no clock (callers pass now), and
// no import outside the standard library. The gateway builds a Snapshot from
// its store and asks Rank for each request; the snapshot is shared read-only
// by every request until the next one replaces it.
package selector
