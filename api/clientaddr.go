package api

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/relaygate/relaygate/relay"
)

// Addr is the client address chosen by the trusted-proxy rules. It is used
// for selection and prefix lookups only; it renders redacted in logs and fmt.
type Addr struct{ ip netip.Addr }

// IP is the client's address (IPv4 unmapped from IPv4-mapped IPv6).
func (a Addr) IP() netip.Addr { return a.ip }

// String hides the address.
func (Addr) String() string { return "[client]" }

// LogValue hides the address.
func (Addr) LogValue() slog.Value { return slog.StringValue("[client]") }

// clientOf is the request's client as selection sees it: the prefix of its
// address and where the Locator puts it. Computed once per request, on
// first use, so requests that never select (health, metrics) do not pay
// for the GeoIP lookup.
func (s *server) clientOf(r *http.Request) relay.Client {
	ri := infoFrom(r.Context())
	if !ri.located {
		ri.located = true
		ip := ri.client.IP()
		ri.sel = relay.Client{Prefix: relay.ClientPrefix(ip)}
		if s.deps.Locator != nil && ip.IsValid() {
			ri.sel.Location, ri.sel.Located = s.deps.Locator.Locate(ip)
		}
	}
	return ri.sel
}

// maxForwardedHops bounds the X-Forwarded-For hops examined per request.
const maxForwardedHops = 32

// clientAddress picks the client's address: the TCP peer, unless the peer is
// inside trusted, in which case the right-most X-Forwarded-For hop that is
// not itself trusted. Hops are read right to left because each proxy appends
// what it saw; everything left of the first untrusted hop was written by
// parties we cannot believe. An unparseable hop ends the walk: the last
// trusted address seen is then the best we can vouch for.
func clientAddress(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer := parsePeer(remoteAddr)
	if !peer.IsValid() || !inAny(peer, trusted) {
		return peer
	}
	last := peer
	hops := 0
	for i := len(xff) - 1; i >= 0; i-- {
		// Right to left through "a, b, c" without splitting (no allocation).
		for rest := xff[i]; ; {
			hops++
			if hops > maxForwardedHops {
				return last
			}
			j := strings.LastIndexByte(rest, ',')
			hop := parseHop(strings.TrimSpace(rest[j+1:]))
			if !hop.IsValid() {
				return last
			}
			if !inAny(hop, trusted) {
				return hop
			}
			last = hop
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return last
}

// parsePeer reads the TCP peer, "ip:port" as net/http writes RemoteAddr,
// or anything parseHop takes.
func parsePeer(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return norm(ap.Addr())
	}
	return parseHop(s)
}

// parseHop reads "ip", "ip:port" or "[ipv6]:port"; zones are refused. A
// bare address (what proxies append) is tried first, an address with a
// port next: each failed attempt allocates its error.
func parseHop(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return norm(a)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return norm(ap.Addr())
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return norm(a)
}

func norm(a netip.Addr) netip.Addr {
	if a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// withClient stores the chosen client address in the request's context.
func (s *server) withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).client = Addr{ip: clientAddress(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies)}
		next.ServeHTTP(w, r)
	})
}
