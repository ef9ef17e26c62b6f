package probe

import (
	"net/netip"
	"time"

	"github.com/pion/stun/v4"
)

// stunHeaderSize is the fixed STUN header (RFC 8489 §5).
const stunHeaderSize = 20

// parser holds one reader's reusable decoding state.
type parser struct {
	m  stun.Message
	xa stun.XORMappedAddress
}

// handlePacket accepts b, received from from at time at, if it answers one of
// our in-flight transactions: a well-formed Binding success response whose
// length matches the datagram, with a valid FINGERPRINT if it has one, an
// XOR-MAPPED-ADDRESS, our transaction ID and the address we sent to as its
// source. Anything else is ignored. It reports whether b was accepted.
func (p *Prober) handlePacket(ps *parser, b []byte, from netip.AddrPort, at time.Time) bool {
	if !stun.IsMessage(b) {
		return false
	}
	m := &ps.m
	m.Raw = b
	if err := m.Decode(); err != nil || len(b) != stunHeaderSize+int(m.Length) {
		return false
	}
	if m.Type != stun.BindingSuccess {
		return false
	}
	if m.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(m); err != nil {
			return false
		}
	}
	if err := ps.xa.GetFrom(m); err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pd, ok := p.inflight[m.TransactionID]
	if !ok || pd.addr != from {
		return false
	}
	delete(p.inflight, m.TransactionID)
	if !pd.r.removed {
		p.resolve(pd.r, sample{rtt: max(at.Sub(pd.sentAt), 0)}, at)
	}
	if p.measure && len(p.inflight) == 0 {
		select {
		case p.idle <- struct{}{}: // Measure may be done before the timeout
		default:
		}
	}
	return true
}
