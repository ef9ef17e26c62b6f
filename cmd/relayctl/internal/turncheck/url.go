// Package turncheck checks a TURN server end to end, the way a WebRTC client
// will use it: connect (UDP, TCP or TLS), allocate a relayed address, create
// a permission, send packets through the relay and back, and explain in one
// plain sentence what failed.
//
// The packets go to the allocation's own relayed address: the relay sends
// them to itself and hands them back to us as data from a permitted peer.
// That needs no second host, but the relay's peer filter must let the relay
// reach its own relayed address (relaynode denies private and loopback
// peers by default; its public address is allowed). A refusal is reported
// as such, with the setting that changes it.
package turncheck

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Transports.
const (
	UDP = "udp"
	TCP = "tcp"
	TLS = "tls"
)

// Default ports of RFC 7065.
const (
	defaultPort    = 3478
	defaultTLSPort = 5349
)

// URL is a parsed TURN URI (RFC 7065).
type URL struct {
	Raw       string
	Host      string // a DNS name or an IP literal, without brackets
	Port      int
	Transport string // UDP, TCP or TLS (turns: over TCP)
}

// Addr is host:port with IPv6 literals bracketed.
func (u URL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// String is the URI as given.
func (u URL) String() string { return u.Raw }

// ParseURL parses turn:host[:port][?transport=udp|tcp] and
// turns:host[:port][?transport=tcp]. A turn: URI without transport is UDP;
// turns: is TLS over TCP (DTLS, turns: over UDP, is not supported).
func ParseURL(s string) (URL, error) {
	u := URL{Raw: s}
	rest, ok := strings.CutPrefix(s, "turn:")
	secure := false
	if !ok {
		if rest, ok = strings.CutPrefix(s, "turns:"); !ok {
			return u, fmt.Errorf("%q: want a turn: or turns: URI", s)
		}
		secure = true
	}
	hostport, query, _ := strings.Cut(rest, "?")
	transport := ""
	if query != "" {
		k, v, _ := strings.Cut(query, "=")
		if k != "transport" || (v != UDP && v != TCP) {
			return u, fmt.Errorf("%q: the only query allowed is transport=udp or transport=tcp", s)
		}
		transport = v
	}
	switch {
	case secure && transport == UDP:
		return u, fmt.Errorf("%q: turns: over UDP (DTLS) is not supported", s)
	case secure:
		u.Transport = TLS
	case transport == "":
		u.Transport = UDP
	default:
		u.Transport = transport
	}
	host, port, err := SplitHostPort(hostport, map[bool]int{false: defaultPort, true: defaultTLSPort}[secure])
	if err != nil {
		return u, fmt.Errorf("%q: %w", s, err)
	}
	u.Host, u.Port = host, port
	return u, nil
}

// SplitHostPort splits host[:port] or [v6][:port], using port def when none
// is given, and checks both.
func SplitHostPort(s string, def int) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("no host")
	}
	host, port := s, def
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("port %q out of range 1..65535", p)
		}
		host, port = h, n
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	} else if strings.Count(s, ":") > 0 {
		if _, perr := netip.ParseAddr(s); perr != nil {
			return "", 0, fmt.Errorf("%q is not host:port", s)
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("no host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", 0, fmt.Errorf("zoned address %q not supported", host)
		}
		return a.String(), port, nil
	}
	for _, c := range host {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			return "", 0, fmt.Errorf("%q is neither an IP address nor a host name", host)
		}
	}
	return host, port, nil
}
