package relay

import (
	"net/netip"
	"testing"
)

func TestClientPrefix(t *testing.T) {
	tests := []struct {
		name, addr string
		want       string // "" means the zero Prefix
	}{
		{name: "IPv4 keeps its /24", addr: "198.51.100.7", want: "198.51.100.0/24"},
		{name: "IPv4-mapped IPv6 counts as IPv4", addr: "::ffff:198.51.100.7", want: "198.51.100.0/24"},
		{name: "IPv6 keeps its /48", addr: "2001:db8:1234:5678::1", want: "2001:db8:1234::/48"},
		{name: "IPv6 zone is dropped", addr: "fe80::1%eth0", want: "fe80::/48"},
		{name: "zero address", addr: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			var want netip.Prefix
			if tt.want != "" {
				want = netip.MustParsePrefix(tt.want)
			}
			if got := ClientPrefix(a); got != want {
				t.Errorf("ClientPrefix(%s) = %v, want %v", tt.addr, got, want)
			}
		})
	}
}

func FuzzClientPrefix(f *testing.F) {
	f.Add([]byte{198, 51, 100, 7})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7})
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		p := ClientPrefix(a)
		if !p.Contains(a.Unmap()) {
			t.Fatalf("ClientPrefix(%v) = %v, does not contain it", a, p)
		}
		if p != p.Masked() {
			t.Fatalf("ClientPrefix(%v) = %v, not masked", a, p)
		}
		if a.Unmap().Is4() != (p.Bits() == 24) || !a.Unmap().Is4() && p.Bits() != 48 {
			t.Fatalf("ClientPrefix(%v) = %v, wrong length", a, p)
		}
		if p.Addr().Is4In6() {
			t.Fatalf("ClientPrefix(%v) = %v, still mapped", a, p)
		}
	})
}
