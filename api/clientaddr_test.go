package api

import (
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{name: "untrusted peer, header ignored", remote: "198.51.100.1:5000", xff: []string{"203.0.113.9"}, want: "198.51.100.1"},
		{name: "trusted peer, one hop", remote: "10.0.0.2:5000", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "right-most untrusted hop wins over a spoofed left one", remote: "10.0.0.2:5000", xff: []string{"1.1.1.1, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "trusted hops are skipped", remote: "10.0.0.2:5000", xff: []string{"203.0.113.9, 10.0.0.7"}, want: "203.0.113.9"},
		{name: "several header lines read as one list", remote: "10.0.0.2:5000", xff: []string{"1.1.1.1", "203.0.113.9, 10.0.0.7"}, want: "203.0.113.9"},
		{name: "hop with port", remote: "10.0.0.2:5000", xff: []string{"203.0.113.9:4711"}, want: "203.0.113.9"},
		{name: "IPv6 hop in brackets with port", remote: "[fd00::1]:5000", xff: []string{"[2001:db8::9]:4711"}, want: "2001:db8::9"},
		{name: "IPv4-mapped peer is unmapped", remote: "[::ffff:10.0.0.2]:5000", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "garbage stops the walk at the last trusted hop", remote: "10.0.0.2:5000", xff: []string{"203.0.113.9, garbage, 10.0.0.7"}, want: "10.0.0.7"},
		{name: "all hops trusted: the left-most", remote: "10.0.0.2:5000", xff: []string{"10.0.0.9, 10.0.0.7"}, want: "10.0.0.9"},
		{name: "no header from a trusted peer", remote: "10.0.0.2:5000", want: "10.0.0.2"},
		{name: "empty element", remote: "10.0.0.2:5000", xff: []string{"203.0.113.9,,"}, want: "10.0.0.2"},
		{name: "zone refused", remote: "10.0.0.2:5000", xff: []string{"fe80::1%eth0"}, want: "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientAddress(tt.remote, tt.xff, trusted)
			if got.String() != tt.want {
				t.Errorf("clientAddress(%q, %q) = %v, want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

// FuzzClientAddress: whatever the header says, the answer is the peer or an
// address that appears in the header, and never one inside a trusted prefix
// unless every hop considered was trusted.
func FuzzClientAddress(f *testing.F) {
	f.Add("10.0.0.2:5000", "203.0.113.9, 10.0.0.7")
	f.Add("198.51.100.1:1", "1.1.1.1")
	f.Add("[fd00::1]:5000", "[2001:db8::9]:4711, garbage")
	f.Add("10.0.0.2:5000", "")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := clientAddress(remote, []string{xff}, trusted)
		peer := parseHop(remote)
		if !peer.IsValid() || !inAny(peer, trusted) {
			if got != peer {
				t.Fatalf("untrusted peer %v: got %v, header must be ignored", peer, got)
			}
			return
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("got %v: zones and mapped forms must not escape", got)
		}
	})
}
