package probe

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// FuzzHandlePacket feeds arbitrary datagrams to the response handler with one
// transaction in flight. It must never panic, and it may accept only a Binding
// success carrying that transaction's ID, from the address probed.
func FuzzHandlePacket(f *testing.F) {
	tx := txID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	relayAddr := mustAddrPort("192.0.2.7:3478")
	ok := stun.MustBuild(stun.NewTransactionIDSetter(tx), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: []byte{198, 51, 100, 1}, Port: 40000}, stun.Fingerprint)
	noFP := stun.MustBuild(stun.NewTransactionIDSetter(tx), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: []byte{198, 51, 100, 1}, Port: 40000})
	req := stun.MustBuild(stun.NewTransactionIDSetter(tx), stun.BindingRequest, stun.Fingerprint)
	errResp := stun.MustBuild(stun.NewTransactionIDSetter(tx), stun.BindingError, stun.CodeBadRequest, stun.Fingerprint)
	badFP := append([]byte(nil), ok.Raw...)
	badFP[len(badFP)-1] ^= 1
	f.Add(ok.Raw, false)
	f.Add(noFP.Raw, false)
	f.Add(ok.Raw, true)
	f.Add(req.Raw, false)
	f.Add(errResp.Raw, false)
	f.Add(badFP, false)
	f.Add(append(append([]byte(nil), ok.Raw...), 0), false)
	f.Add(ok.Raw[:len(ok.Raw)-4], false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, fromElsewhere bool) {
		c := Config{}.withDefaults()
		p := newProber(c, nil, nil, nil)
		r := newRelay("r", relayAddr, &c)
		t0 := time.Unix(1e9, 0)
		p.inflight[tx] = pending{r: r, addr: relayAddr, sentAt: t0}
		from := relayAddr
		if fromElsewhere {
			from = netip.AddrPortFrom(relayAddr.Addr(), relayAddr.Port()+1)
		}
		var ps parser
		accepted := p.handlePacket(&ps, b, from, t0.Add(20*time.Millisecond))
		if !accepted {
			if len(p.inflight) != 1 || r.st.n != 0 {
				t.Fatalf("rejected packet changed state")
			}
			return
		}
		var m stun.Message
		m.Raw = b
		if fromElsewhere || m.Decode() != nil || m.Type != stun.BindingSuccess || m.TransactionID != tx {
			t.Fatalf("accepted %x from %v", b, from)
		}
		if len(p.inflight) != 0 || r.st.n != 1 || r.st.last != 20*time.Millisecond {
			t.Fatalf("accepted packet recorded %+v", r.st)
		}
		if p.handlePacket(&ps, b, from, t0) {
			t.Fatalf("the same answer was accepted twice")
		}
	})
}
