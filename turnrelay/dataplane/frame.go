package dataplane

import (
	"encoding/binary"
	"net/netip"
)

// The data plane frames a peer's datagram for its client in place: the
// datagram is read headroom bytes into its buffer, and the ChannelData or
// Data indication header is written just before it (RFC 8656 §12.5,
// §11.6), so nothing is copied.
const (
	headroom   = stunHeader + 4 + 20 + 4 // a Data indication's header for an IPv6 peer
	stunHeader = 20
	slotSize   = headroom + udpMaxDatagram + 4 // room for the padding too
	magic      = 0x2112A442
	dataInd    = 0x0017 // Data indication: method 0x007, class indication
	attrPeer   = 0x0012 // XOR-PEER-ADDRESS
	attrData   = 0x0013 // DATA
)

// pad4 is n rounded up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }

// frameChannelData writes the ChannelData header for channel number in
// front of the n-byte datagram at buf[headroom:] and pads it to 4 bytes,
// as pion does; it returns the message, which aliases buf.
func frameChannelData(buf []byte, n int, number uint16) []byte {
	start := headroom - 4
	binary.BigEndian.PutUint16(buf[start:], number)
	binary.BigEndian.PutUint16(buf[start+2:], uint16(n)) //nolint:gosec // G115: n <= udpMaxDatagram
	end := headroom + n
	clear(buf[end:pad4(end)])
	return buf[start:pad4(end)]
}

// frameDataIndication writes a Data indication's header (XOR-PEER-ADDRESS
// of peer, then DATA) in front of the n-byte datagram at buf[headroom:]
// and pads DATA to 4 bytes; it returns the message, which aliases buf.
// pion adds no FINGERPRINT to Data indications, nor does this.
func frameDataIndication(buf []byte, n int, peer netip.AddrPort, txid *[12]byte) []byte {
	alen := 4
	if peer.Addr().Is6() {
		alen = 16
	}
	start := headroom - (stunHeader + 4 + 4 + alen + 4)
	h := buf[start:headroom]
	binary.BigEndian.PutUint16(h[0:], dataInd)
	binary.BigEndian.PutUint16(h[2:], uint16(4+4+alen+4+pad4(n))) //nolint:gosec // G115: n <= udpMaxDatagram
	binary.BigEndian.PutUint32(h[4:], magic)
	copy(h[8:20], txid[:])
	a := h[20:]
	binary.BigEndian.PutUint16(a[0:], attrPeer)
	binary.BigEndian.PutUint16(a[2:], uint16(4+alen)) //nolint:gosec // G115: 8 or 20
	a[4] = 0
	a[5] = 1
	if alen == 16 {
		a[5] = 2
	}
	binary.BigEndian.PutUint16(a[6:], peer.Port()^(magic>>16))
	ip := peer.Addr().As16()
	x := ip[12:]
	if alen == 16 {
		x = ip[:]
	}
	var key [16]byte
	binary.BigEndian.PutUint32(key[0:], magic)
	copy(key[4:], txid[:])
	for i := range x {
		a[8+i] = x[i] ^ key[i] //nolint:gosec // G602: a is 24 or 36 bytes of h, sized for the address
	}
	d := a[8+alen:]
	binary.BigEndian.PutUint16(d[0:], attrData)
	binary.BigEndian.PutUint16(d[2:], uint16(n)) //nolint:gosec // G115: n <= udpMaxDatagram
	end := headroom + n
	clear(buf[end:pad4(end)])
	return buf[start:pad4(end)]
}
