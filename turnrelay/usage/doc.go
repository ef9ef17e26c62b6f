// Package usage counts what a relay node carries for each user, named by
// the pseudonym in its TURN username: payload bytes each way, counted with
// atomic adds on the data path by a wrap of each allocation's relay socket,
// and allocation time from each allocation's lifetime on an injected clock.
// It folds the counts per pseudonym into bounded reports for the heartbeat
// client and keeps a report until the gateway acknowledges it, so a gateway
// or store that is down for a while loses nothing (up to MaxPending
// pseudonyms waiting; past that, what closing allocations of further
// pseudonyms carried is dropped and counted in Lost).
//
// It does no I/O, starts no goroutine and logs nothing. What it exposes for
// metrics are totals without any pseudonym.
package usage
