// Package quota is a relay node's capacity accounting: how many allocations
// it holds in total and per user, whether it still takes new ones
// (draining), the relayed-bandwidth budget every datagram draws on, and the
// bit rate its heartbeats report as load.
//
// It is pure: no sockets, no goroutines, no logging, no clock of its own.
// Every time it needs comes in as a parameter, so tests drive it with
// explicit instants. Its types are safe for concurrent use; the bandwidth
// limiter takes one atomic compare-and-swap per datagram.
package quota
