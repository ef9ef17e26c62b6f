// Package dataplane is the relay's UDP I/O: the client-facing UDP listener
// (sockets sharing one port with SO_REUSEPORT, recvmmsg batches), the
// ChannelData fast path that relays a bound channel's datagrams from those
// batches to the peer, and the relay sockets of allocations, which
// re-check the peer filter on every datagram, draw on the bandwidth budget
// and count what they relay.
//
// On Linux the relay sockets are the data plane's own: a few event loops
// (epoll, one per CPU) read them with recvmmsg, frame each peer datagram
// for its client as ChannelData or a Data indication and send them in
// sendmmsg batches from the listener sockets (loop_linux.go). pion stays
// the control plane and the source of truth: allocations, permissions,
// channels, refreshes and expiry reach the data plane as its EventHandler
// callbacks, and a peer's datagram is relayed only while pion holds a
// permission for the peer's IP. A TCP or TLS client's allocation is still
// relayed by pion, which gets its peers' datagrams through the relay
// socket's ReadFrom. Elsewhere pion reads each relay socket itself.
//
// It knows nothing of TURN's control plane: it does not import pion. The
// server hands pion the PacketConns it returns (listener sockets, relay
// sockets) and feeds pion's allocation, channel and permission events to a
// Plane as net.Addr values, which is all the data plane needs. It never
// logs (Config.Notice hears of a missing system feature) and never exposes
// a client or peer address beyond the values it was given.
package dataplane
