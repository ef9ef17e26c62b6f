// Package peerfilter decides which peer addresses a TURN relay may reach: by
// default only the public Internet, so the relay is no SSRF proxy into its
// own network (loopback, private ranges, cloud metadata, and the same
// reached through IPv4-mapped, NAT64 or 6to4 forms), adjusted by the
// operator's allow and deny prefixes.
//
// It is a leaf (standard library only): the relay's control plane checks
// permissions with it, the data plane re-checks every datagram, and its
// address classes are meant for reuse elsewhere. It keeps no state beyond
// its immutable rules and never sees a client address.
package peerfilter
