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
