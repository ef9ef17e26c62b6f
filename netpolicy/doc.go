// Package netpolicy decides which IP addresses are outside the public
// Internet, for the two places that must not reach into the operator's own
// networks: a TURN relay's peers (or the relay is an SSRF proxy into its
// network) and the relay addresses the gateway accepts in heartbeats (or it
// hands clients, and sends its own STUN probes to, whatever address a node
// token names). By default only the public Internet is allowed: loopback,
// private, link-local and cloud metadata, CGNAT, multicast, reserved,
// benchmarking and documentation ranges are refused, in IPv4, IPv6 and the
// IPv4-mapped, NAT64 and 6to4 forms that embed an IPv4 address. The
// operator's allow and deny prefixes adjust it (relaynode's --allow-peers
// and --deny-peers, relaygate's --allow-relay-networks).
//
// It is a leaf (standard library only), so that the relay (its control
// plane checks permissions with it, its data plane re-checks every
// datagram) and the gateway use one implementation without the gateway
// importing turnrelay. It keeps no state beyond its immutable rules and
// never sees a client address.
package netpolicy
