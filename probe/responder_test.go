package probe

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// Responder behaviours.
const (
	answer    int32 = iota // Binding success with XOR-MAPPED-ADDRESS and FINGERPRINT
	silent                 // never answers
	wrongTxID              // answers with another transaction ID
	otherAddr              // answers from a different socket
)

// responder is a small STUN server for tests, on a real or in-memory conn.
type responder struct {
	conn  net.PacketConn
	other net.PacketConn // source for otherAddr; nil otherwise
	mode  atomic.Int32
	// drop is the share of requests dropped, spread evenly (every second
	// request at 0.5), so tests are deterministic.
	drop     float64
	dropNext atomic.Int32 // drop this many of the next requests
	delay    time.Duration
	requests atomic.Int64

	mu sync.Mutex
	// guards below
	arrivals []time.Time

	wg sync.WaitGroup
}

// startResponder serves on conn until the test ends (or stop is called);
// set, if not nil, adjusts it before it starts.
func startResponder(t testing.TB, conn net.PacketConn, mode int32, set ...func(*responder)) *responder {
	t.Helper()
	r := &responder{conn: conn}
	r.mode.Store(mode)
	for _, f := range set {
		f(r)
	}
	r.wg.Go(r.serve)
	t.Cleanup(r.stop)
	return r
}

func (r *responder) stop() {
	r.conn.Close()
	if r.other != nil {
		r.other.Close()
	}
	r.wg.Wait()
}

func (r *responder) addr() netip.AddrPort {
	return r.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (r *responder) serve() {
	buf := make([]byte, 1500)
	var acc float64
	for {
		n, from, err := r.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if req.Decode() != nil || req.Type != stun.BindingRequest {
			continue
		}
		r.requests.Add(1)
		r.mu.Lock()
		r.arrivals = append(r.arrivals, time.Now())
		r.mu.Unlock()
		if r.dropNext.Load() > 0 {
			r.dropNext.Add(-1)
			continue
		}
		if acc += r.drop; acc >= 1 {
			acc--
			continue
		}
		mode := r.mode.Load()
		if mode == silent {
			continue
		}
		tx := req.TransactionID
		if mode == wrongTxID {
			tx[0] ^= 0xff
		}
		ua := from.(*net.UDPAddr)
		resp := stun.MustBuild(stun.NewTransactionIDSetter(tx), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
		out := r.conn
		if mode == otherAddr && r.other != nil {
			out = r.other
		}
		// A failed write (the conn closed as the test ends) is a lost
		// answer, which the prober must cope with like any other.
		if r.delay > 0 {
			time.AfterFunc(r.delay, func() { _, _ = out.WriteTo(resp.Raw, from) })
			continue
		}
		_, _ = out.WriteTo(resp.Raw, from)
	}
}

func (r *responder) arrivalTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.arrivals...)
}
