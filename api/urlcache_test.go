package api

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/relaygate/relaygate/relay"
)

func TestURLCacheFollowsTheRelay(t *testing.T) {
	r := relay.Relay{ID: "fra-1", Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5")},
		Ports: relay.Ports{relay.UDP: 3478, relay.TCP: 3478}}
	var c urlCache
	check := func(step string, r relay.Relay, want []relay.Transport) {
		t.Helper()
		if got, ref := c.urls(r, want), relayURLs(r, want); !slices.Equal(got, ref) {
			t.Errorf("%s: urls() = %v, want %v", step, got, ref)
		}
	}
	check("first", r, nil)
	check("again", r, nil)
	moved := r
	moved.Addresses = []netip.Addr{netip.MustParseAddr("203.0.113.6"), netip.MustParseAddr("2001:db8::6")}
	check("new addresses", moved, nil)
	tls := moved
	tls.Hostname, tls.Ports[relay.TLS] = "fra-1.relay.example", 5349
	check("TLS added", tls, nil)
	check("only UDP asked for", tls, []relay.Transport{relay.UDP})
	renamed := tls
	renamed.Hostname = "fra-one.relay.example"
	check("new hostname", renamed, nil)
	check("the old relay again", r, nil)
}

func TestURLCacheIsBounded(t *testing.T) {
	var c urlCache
	r := relay.Relay{Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5")}, Ports: relay.Ports{relay.UDP: 3478}}
	for i := range maxCachedRelays + 10 {
		r.ID = "r" + string(rune('a'+i%26)) + netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}).String()
		c.urls(r, nil)
	}
	if n := c.n.Load(); n > maxCachedRelays {
		t.Errorf("cache counts %d relays, bound %d", n, maxCachedRelays)
	}
	entries := 0
	c.m.Range(func(any, any) bool { entries++; return true })
	if entries > maxCachedRelays {
		t.Errorf("cache holds %d relays, bound %d", entries, maxCachedRelays)
	}
}
