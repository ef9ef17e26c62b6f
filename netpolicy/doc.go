// Package netpolicy decides which peer addresses a TURN relay may reach: by
// default only the public Internet, so the relay is no SSRF proxy into its
// own network (loopback, private ranges, cloud metadata, and the same
// reached through IPv4-mapped, NAT64 or 6to4 forms), adjusted by the
// operator's allow and deny prefixes.
//
// It is a leaf (standard library only) at the top of the module, so that
// the relay (its control plane checks permissions with it, its data plane
// re-checks every datagram) and the gateway can share its address classes
// without the gateway importing turnrelay. It keeps no state beyond its
// immutable rules and never sees a client address.
package netpolicy
