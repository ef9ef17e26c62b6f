// Package turnrelay is relaygate's relay node: a TURN server (RFC 8656 over
// UDP, TCP and TLS, on pion/turn) that verifies the gateway's TURN REST
// credentials (turncred), refuses peers outside the public Internet (the
// TURN SSRF hole; see package netpolicy), enforces allocation and
// bandwidth quotas, exports Prometheus metrics without per-user labels,
// heartbeats its load into the gateway and drains on shutdown.
//
// Error codes a client sees at Allocate: 401 for a bad, malformed or expired
// credential; 486 when its user (credential pseudonym) holds --user-quota
// allocations; 508 when the node is at --max-allocations, at its --max-bps
// budget, draining, or out of relay ports. CreatePermission to a refused
// peer gets 403 (ChannelBind gets pion's 401), and a refused peer never
// receives a datagram: the relay socket re-checks the filter on every send.
// Only UDP relaying is offered (RFC 6062 TCP allocations get 508).
//
// The Server owns the node's lifecycle and drain and wires pion's control
// plane (authentication, quota, permission and event handlers); its parts
// live in packages of their own: dataplane (UDP listener, ChannelData fast
// path, relay sockets), quota (allocation ledger, bandwidth budget, load)
// and heartbeat; the peer filter is netpolicy's, shared with the gateway. Transports are data: Config.Listeners names one
// listener per relay.Transport and Addrs is indexed by it, so a transport
// is a row in relay's table plus a row in listenerKinds. One clock,
// Config.Now, is passed down to every part.
//
// Logs never carry a client address, username or credential: pion's own
// messages are reduced to their format strings.
package turnrelay
