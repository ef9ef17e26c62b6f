// Package dataplane is the relay's UDP I/O: the client-facing UDP listener
// (sockets sharing one port with SO_REUSEPORT, large buffers, recvmmsg
// batches), the ChannelData fast path that relays a bound channel's
// datagrams straight from those batches, and the relay sockets of
// allocations, which re-check the peer filter on every datagram, draw on
// the bandwidth budget and count what they relay.
//
// It knows nothing of TURN's control plane: it does not import pion. The
// server hands pion the PacketConns it returns (listener sockets, relay
// sockets) and feeds pion's allocation, channel and permission events to a
// Plane as net.Addr values, which is all the fast path needs. It never logs
// and never exposes a client or peer address beyond the values it was given.
package dataplane
