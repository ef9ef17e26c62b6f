package usage_test

import (
	"net"
	"testing"

	"github.com/relaygate/relaygate/turnrelay/usage"
)

// BenchmarkWriteTo is what counting adds to a relayed datagram: a 160-byte
// write to a loopback peer through a bare socket and through a counted one.
func BenchmarkWriteTo(b *testing.B) {
	m, err := usage.New(usage.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		wrap func(net.PacketConn) net.PacketConn
	}{
		{"bare", func(pc net.PacketConn) net.PacketConn { return pc }},
		{"counted", func(pc net.PacketConn) net.PacketConn { return m.Wrap(pc, "pseudonym") }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer peer.Close()
			c := bc.wrap(pc)
			defer c.Close()
			buf, to := make([]byte, 160), peer.LocalAddr()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.WriteTo(buf, to); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
