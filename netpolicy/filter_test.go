package netpolicy_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/relaygate/relaygate/netpolicy"
)

func TestPeerFilter(t *testing.T) {
	def, _ := netpolicy.New(nil, nil)
	allow, errAllow := netpolicy.ParsePrefixes("127.0.0.1/32, 10.0.0.0/8, ::ffff:192.168.1.0/120, fd00::/8")
	deny, errDeny := netpolicy.ParsePrefixes("10.1.0.0/16, 8.8.8.0/24, 10.2.0.0/16, 2001:4860::/32")
	ops, err := netpolicy.New(allow, deny)
	if err := errors.Join(errAllow, errDeny, err); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		f    *netpolicy.Filter
		ip   string
		want bool
	}{
		{def, "8.8.8.8", true},
		{def, "1.1.1.1", true},
		{def, "2606:4700::1111", true},
		{def, "0.0.0.0", false},
		{def, "0.255.0.1", false},
		{def, "10.0.0.1", false},
		{def, "100.64.0.1", false},
		{def, "100.127.255.255", false},
		{def, "100.128.0.1", true},
		{def, "127.0.0.1", false},
		{def, "169.254.169.254", false},
		{def, "172.16.0.1", false},
		{def, "172.32.0.1", true},
		{def, "192.0.0.1", false},
		{def, "192.0.2.1", false},
		{def, "192.168.0.1", false},
		{def, "198.18.0.1", false},
		{def, "198.19.255.255", false},
		{def, "198.20.0.1", true},
		{def, "224.0.0.251", false},
		{def, "240.0.0.1", false},
		{def, "255.255.255.255", false},
		{def, "::", false},
		{def, "::1", false},
		{def, "::ffff:127.0.0.1", false},
		{def, "::ffff:10.0.0.1", false},
		{def, "::ffff:8.8.8.8", true},
		{def, "64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{def, "64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{def, "64:ff9b::808:808", true},    // NAT64 of 8.8.8.8
		{def, "64:ff9b:1::1", false},
		{def, "2002:c0a8:101::1", false}, // 6to4 of 192.168.1.1
		{def, "2002:808:808::1", true},   // 6to4 of 8.8.8.8
		{def, "2001::1", false},
		{def, "2001:db8::1", false},
		{def, "fc00::1", false},
		{def, "fd00::1", false},
		{def, "fe80::1", false},
		{def, "fe80::1%eth0", false},
		{def, "fec0::1", false},
		{def, "ff02::1", false},
		{def, "100::1", false},
		{def, "168.63.129.16", false},
		{def, "168.63.129.17", true},
		{def, "::ffff:0:7f00:1", false},  // IPv4-translated 127.0.0.1
		{def, "::ffff:0:808:808", false}, // IPv4-translated 8.8.8.8: no network routes it
		{ops, "127.0.0.1", true},
		{ops, "127.0.0.2", false},
		{ops, "::ffff:127.0.0.1", true},
		{ops, "10.3.0.1", true},  // allowed /8 beats nothing else
		{ops, "10.1.2.3", false}, // deny /16 inside allow /8
		{ops, "192.168.1.9", true},
		{ops, "192.168.2.9", false},
		{ops, "8.8.8.8", false},
		{ops, "8.8.4.4", true},
		{ops, "fd00::1", true},
		{ops, "fc00::1", false},
		{ops, "2001:4860::8888", false},
	}
	for _, tt := range tests {
		name := "default"
		if tt.f == ops {
			name = "operator"
		}
		if got := tt.f.Allowed(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("%s.Allowed(%s) = %v, want %v", name, tt.ip, got, tt.want)
		}
	}
	if def.Allowed(netip.Addr{}) {
		t.Error("Allowed(invalid) = true")
	}
}

// TestEmbeddedForms: every IPv4 range denied by default is denied in each
// IPv6 form that embeds an IPv4 address (IPv4-mapped, IPv4-compatible,
// IPv4-translated, NAT64 and 6to4), at its first, middle and last address,
// and NAT64 and 6to4 name the IPv4 rule; the same forms of a public address
// are allowed where they route (mapped, NAT64, 6to4). An operator's
// allowance of an IPv4 range opens its NAT64 and 6to4 forms with it.
func TestEmbeddedForms(t *testing.T) {
	def, err := netpolicy.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]func(v4 [4]byte) netip.Addr{
		"IPv4-mapped": func(b [4]byte) netip.Addr {
			return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
		},
		"IPv4-compatible": func(b [4]byte) netip.Addr { return netip.AddrFrom16([16]byte{12: b[0], 13: b[1], 14: b[2], 15: b[3]}) },
		"IPv4-translated": func(b [4]byte) netip.Addr {
			return netip.AddrFrom16([16]byte{8: 0xff, 9: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
		},
		"NAT64": func(b [4]byte) netip.Addr {
			return netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
		},
		"6to4": func(b [4]byte) netip.Addr {
			return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: b[0], 3: b[1], 4: b[2], 5: b[3], 15: 1})
		},
	}
	names := 0
	for p := range netpolicy.DefaultDenied() {
		if !p.Addr().Is4() {
			continue
		}
		names++
		for _, v4 := range []netip.Addr{p.Addr(), middle(p), last(p)} {
			if def.Allowed(v4) {
				t.Errorf("Allowed(%v) = true, in denied %v", v4, p)
			}
			for form, embed := range forms {
				a := embed(v4.As4())
				by, denied := def.DeniedBy(a)
				if !denied {
					t.Errorf("%s form %v of %v (in %v) is allowed", form, a, v4, p)
				}
				if (form == "NAT64" || form == "6to4") && by != p {
					t.Errorf("DeniedBy(%v) = %v, want the IPv4 rule %v", a, by, p)
				}
			}
		}
	}
	if names < 15 {
		t.Fatalf("only %d IPv4 ranges denied by default", names)
	}
	public := netip.MustParseAddr("8.8.8.8").As4()
	for form, want := range map[string]bool{"IPv4-mapped": true, "NAT64": true, "6to4": true, "IPv4-compatible": false, "IPv4-translated": false} {
		if got := def.Allowed(forms[form](public)); got != want {
			t.Errorf("Allowed(%s form of 8.8.8.8) = %v, want %v", form, got, want)
		}
	}
	lab, err := netpolicy.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	loop := netip.MustParseAddr("127.0.0.1").As4()
	for _, form := range []string{"IPv4-mapped", "NAT64", "6to4"} {
		if a := forms[form](loop); !lab.Allowed(a) {
			t.Errorf("with 127.0.0.0/8 allowed, Allowed(%v) = false", a)
		}
	}
}

// middle is an address halfway through p.
func middle(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	if host := 32 - p.Bits(); host > 0 {
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n |= 1 << (host - 1)
		b = [4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return netip.AddrFrom4(b)
}

// last is the last address of p.
func last(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n |= uint32(1<<(32-p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "", want: 0},
		{in: "10.0.0.0/8, 2001:db8::/32", want: 2},
		{in: "127.0.0.1", want: 1},
		{in: "::1", want: 1},
		{in: "10.0.0.0/33", wantErr: true},
		{in: "10.0.0.1/8", wantErr: true},
		{in: "ten/8", wantErr: true},
		{in: "10.0.0.0/8,bogus", wantErr: true},
		{in: "fe80::1%eth0", wantErr: true},
	}
	for _, tt := range tests {
		got, err := netpolicy.ParsePrefixes(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && len(got) != tt.want) {
			t.Errorf("ParsePrefixes(%q) = %v, %v; want %d prefixes, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzPeerFilter(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:c0a8:101::1", "8.8.8.8", "fe80::1%lo"} {
		f.Add(s)
	}
	def, _ := netpolicy.New(nil, nil)
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		got := def.Allowed(ip)
		// Invariants: mapped and unmapped forms agree; never a private,
		// loopback, link-local, multicast or unspecified address.
		if ip.Is4() && got != def.Allowed(netip.AddrFrom16(ip.As16())) {
			t.Fatalf("Allowed(%v) differs from its IPv4-mapped form", ip)
		}
		u := ip.Unmap()
		if got && (u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsMulticast() || u.IsUnspecified() || u.IsInterfaceLocalMulticast()) {
			t.Fatalf("Allowed(%v) = true", ip)
		}
	})
}
