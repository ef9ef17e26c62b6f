package secretmatch

import (
	"encoding/binary"

	"github.com/pion/stun/v4"
)

// STUN framing (RFC 8489 §5, RFC 8656 §12).
const (
	headerSize    = 20         // STUN message header
	magicCookie   = 0x2112A442 // bytes 4-8 of every STUN message
	channelHeader = 4          // ChannelData: channel number, length
	attrHeader    = 4          // attribute: type, length
)

// request is what the matcher needs of a signed STUN request: the method
// and the attributes its MESSAGE-INTEGRITY covers. Its slices point into
// the message scanned.
type request struct {
	method   stun.Method
	size     int    // header and attributes: the message's bytes
	username []byte // first USERNAME, nil if none
	realm    []byte // first REALM, nil if none
	signed   bool   // MESSAGE-INTEGRITY present
}

// scan reads b as a STUN request, without copying or allocating. ok is
// false for anything else: ChannelData, indications, responses, and
// malformed or truncated messages (b may be longer than the message, as a
// stream read is).
func scan(b []byte) (r request, ok bool) {
	if len(b) < headerSize || binary.BigEndian.Uint32(b[4:8]) != magicCookie {
		return request{}, false
	}
	var t stun.MessageType
	t.ReadValue(binary.BigEndian.Uint16(b[0:2]))
	if b[0]&0xC0 != 0 || t.Class != stun.ClassRequest {
		return request{}, false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n%4 != 0 || len(b) < headerSize+n {
		return request{}, false
	}
	r = request{method: t.Method, size: headerSize + n}
	sha256 := false
	for a := b[headerSize : headerSize+n]; len(a) > 0; {
		if len(a) < attrHeader {
			return request{}, false
		}
		typ := stun.AttrType(binary.BigEndian.Uint16(a[0:2]))
		l := int(binary.BigEndian.Uint16(a[2:4]))
		padded := (l + 3) &^ 3
		if len(a) < attrHeader+padded {
			return request{}, false
		}
		v := a[attrHeader : attrHeader+l]
		// pion drops what follows MESSAGE-INTEGRITY or, first,
		// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.5, §14.6).
		switch {
		case r.signed || sha256:
		case typ == stun.AttrMessageIntegritySHA256:
			sha256 = true
		case typ == stun.AttrUsername && r.username == nil:
			r.username = v
		case typ == stun.AttrRealm && r.realm == nil:
			r.realm = v
		case typ == stun.AttrMessageIntegrity:
			r.signed = true
		}
		a = a[attrHeader+padded:]
	}
	return r, true
}

// frame reads the size of the TURN frame that h (its first 4 bytes, at
// least) starts on a stream, as pion frames TCP and TLS: a STUN message is
// its header and attributes; ChannelData is padded to 4 bytes on streams.
// request says it is a STUN request (worth inspecting); ok is false when h
// starts neither, which ends the connection in pion too.
func frame(h []byte) (size int, request, ok bool) {
	n := int(binary.BigEndian.Uint16(h[2:4]))
	switch h[0] >> 6 {
	case 0: // STUN: the two most significant bits are zero
		var t stun.MessageType
		t.ReadValue(binary.BigEndian.Uint16(h[0:2]))
		return headerSize + n, t.Class == stun.ClassRequest, true
	case 1: // ChannelData: channel numbers 0x4000-0x7FFF
		return channelHeader + (n+3)&^3, false, true
	default:
		return 0, false, false
	}
}
