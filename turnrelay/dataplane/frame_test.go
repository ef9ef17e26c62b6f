package dataplane

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/pion/stun/v4"
)

// FuzzDatagram drives the data plane's datagram handling: ParseChannelData
// on arbitrary client datagrams, and the peers' datagrams framed as
// ChannelData and Data indications, which must parse back (the latter with
// pion's STUN decoder) to the same channel, peer and bytes.
func FuzzDatagram(f *testing.F) {
	f.Add([]byte{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c', 0}, uint16(0x4001), []byte{127, 0, 0, 1}, uint16(9))
	f.Add([]byte{}, uint16(0x7FFF), []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(65535))
	f.Add([]byte{0x00, 0x01, 0xFF, 0xFF}, uint16(0x4000), []byte{1, 2, 3}, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, number uint16, ip []byte, port uint16) {
		if n, data, ok := ParseChannelData(b); ok {
			if n < 0x4000 || n > 0x7FFF || len(data) > len(b)-4 || (len(data) > 0 && &data[0] != &b[4]) {
				t.Fatalf("ParseChannelData(%x) = %#x, %d bytes", b, n, len(data))
			}
		}
		if len(b) > udpMaxDatagram {
			b = b[:udpMaxDatagram]
		}
		buf := make([]byte, slotSize)
		copy(buf[headroom:], b)
		number = 0x4000 | number&0x3FFF
		msg := frameChannelData(buf, len(b), number)
		if len(msg)%4 != 0 {
			t.Fatalf("ChannelData of %d bytes is %d long, not padded", len(b), len(msg))
		}
		if n, data, ok := ParseChannelData(msg); !ok || n != number || !bytes.Equal(data, b) {
			t.Fatalf("ChannelData round trip: %#x %x %v, want %#x %x", n, data, ok, number, b)
		}

		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		peer := netip.AddrPortFrom(addr.Unmap(), port)
		copy(buf[headroom:], b) // the ChannelData's padding may have overwritten nothing of b, but be sure
		txid := [12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		m := &stun.Message{Raw: append([]byte(nil), frameDataIndication(buf, len(b), peer, &txid)...)}
		if err := m.Decode(); err != nil {
			t.Fatalf("decode the Data indication: %v", err)
		}
		var xpa stun.XORMappedAddress
		if err := xpa.GetFromAs(m, stun.AttrXORPeerAddress); err != nil {
			t.Fatalf("XOR-PEER-ADDRESS: %v", err)
		}
		data, err := m.Get(stun.AttrData)
		got, _ := netip.AddrFromSlice(xpa.IP)
		if err != nil || !bytes.Equal(data, b) || got.Unmap() != peer.Addr() || xpa.Port != int(port) ||
			m.Type != stun.NewType(stun.MethodData, stun.ClassIndication) || m.TransactionID != txid {
			t.Fatalf("Data indication: %v from %v:%d, %x (%v); want %x from %v", m.Type, got, xpa.Port, data, err, b, peer)
		}
	})
}
