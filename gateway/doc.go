// Package gateway is relaygate's application layer, between the HTTP edge
// (package api) and persistence (package store). A Gateway owns:
//
//   - picking: selector.Rank over the current snapshot, with this replica's
//     memory of each client prefix's last primary (hysteresis) and a share
//     of answers whose backup explores;
//   - the snapshot and its refresh: the relays and the client-prefix
//     measurement aggregates, copied from the store every refresh interval
//     so that the request path never waits on it; while the store is
//     unreachable, selection keeps serving the last snapshot for the store
//     grace (relays fresh at its last refresh stay eligible, unless this
//     replica's own probes find them dead), and says so in SnapshotHealth
//     and its metrics;
//   - the check of relay addresses: a heartbeat naming an address outside
//     the public Internet (package netpolicy's classes) is refused unless
//     the operator allows its network, and the prober never sends to one;
//   - read-your-writes: a heartbeat that changes what selection depends on,
//     and an operator's drain mark, are in the snapshot before the call
//     returns;
//   - the measurement queue, which folds what clients report into the store
//     without making a request wait on it;
//   - the probe bridge: the STUN prober's targets come from the snapshot and
//     its results go into the snapshot at once and to the store, as this
//     replica's probe view;
//   - static relays (SetStatic): relays the operator lists, such as stock
//     coturn servers, that never heartbeat; kept in this replica's memory
//     and merged into its snapshot, never written to the store, judged by
//     this replica's probes alone;
//   - minting TURN credentials with turncred;
//   - its own metrics.
//
// It refuses to know HTTP: it does not import api, which declares the
// interfaces (Registry, Picker, Minter, Measurements) that *Gateway
// satisfies. It never sees a client's address, only relay.Client (a prefix
// and a location), and never logs a prefix, a token or a credential.
//
// New starts nothing; Run runs the long-lived parts (snapshot refresh,
// measurement queue, prober) and waits for every goroutine it starts.
// Time comes from Deps.Now alone.
package gateway
