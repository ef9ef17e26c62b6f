package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/turnrelay/quota"
)

// fakeConn is a relay socket that records what it sends and serves queued
// datagrams to reads.
type fakeConn struct {
	net.PacketConn // nil: only the methods below are used
	sent           [][]byte
	inbox          [][]byte
	closed         int
}

func (c *fakeConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.sent = append(c.sent, append([]byte(nil), b...))
	return len(b), nil
}

func (c *fakeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if len(c.inbox) == 0 {
		return 0, nil, net.ErrClosed
	}
	n := copy(b, c.inbox[0])
	c.inbox = c.inbox[1:]
	return n, &net.UDPAddr{IP: net.IPv4(8, 8, 8, 8), Port: 9}, nil
}

func (c *fakeConn) Close() error { c.closed++; return nil }

// TestRelaySocket: a refused peer and an over-budget datagram are dropped
// silently and counted; what passes is counted both ways; Close releases
// once and forgets the socket.
func TestRelaySocket(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	filter, err := netpolicy.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Filter: filter, Bandwidth: quota.NewLimiter(8_000, t0), Now: func() time.Time { return t0 }}) // 2048-byte burst
	fc := &fakeConn{inbox: [][]byte{make([]byte, 100), make([]byte, 2000)}}
	released := 0
	rc := p.Wrap(fc, netip.MustParseAddrPort("203.0.113.1:50000"), func() { released++ })

	public := &net.UDPAddr{IP: net.IPv4(8, 8, 8, 8), Port: 9}
	private := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 9}
	writes := []struct {
		to   net.Addr
		size int
	}{
		{private, 1000}, // refused peer
		{public, 1500},  // within the burst
		{public, 1000},  // over it
	}
	for _, w := range writes {
		if n, err := rc.WriteTo(make([]byte, w.size), w.to); n != w.size || err != nil {
			t.Errorf("WriteTo(%d bytes to %v) = %d, %v; want %d, nil (dropped or not)", w.size, w.to, n, err, w.size)
		}
	}
	if _, err := rc.WriteTo(nil, &net.TCPAddr{}); err == nil {
		t.Error("WriteTo(a TCP address) succeeded")
	}
	buf := make([]byte, 4096)
	if n, _, err := rc.ReadFrom(buf); n != 100 || err != nil {
		t.Errorf("first ReadFrom = %d, %v; want the 100-byte datagram", n, err)
	}
	if n, _, err := rc.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second ReadFrom = %d, %v; want the 2000-byte datagram dropped, then the socket's error", n, err)
	}
	want := Stats{BytesToPeer: 1500, PacketsToPeer: 1, BytesFromPeer: 100, PacketsFromPeer: 1, DroppedPeer: 1, DroppedBandwidth: 2}
	if got := p.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if len(fc.sent) != 1 || len(fc.sent[0]) != 1500 {
		t.Errorf("socket sent %d datagrams, want the one of 1500 bytes", len(fc.sent))
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	_ = rc.Close()
	if released != 1 || fc.closed != 2 {
		t.Errorf("after two Closes: released %d times, socket closed %d times; want 1, 2", released, fc.closed)
	}
	if _, ok := p.relays[netip.MustParseAddrPort("203.0.113.1:50000")]; ok {
		t.Error("closed relay socket still registered")
	}
}

func TestBindRelay(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	p := New(Config{})
	defer p.Close()
	BindRelay := p.BindRelay
	c, port, err := BindRelay("udp4", lo, 1, 65535, 0)
	if err != nil {
		t.Fatalf("BindRelay(any port) = %v", err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.UDPAddr).Port; got != port {
		t.Errorf("BindRelay port = %d, socket on %d", port, got)
	}
	// The same port again, asked for or as a one-port range: taken.
	if _, _, err := BindRelay("udp4", lo, 1, 65535, port); !errors.Is(err, ErrNoPort) {
		t.Errorf("BindRelay(requested taken port) = %v, want ErrNoPort", err)
	}
	if _, _, err := BindRelay("udp4", lo, uint16(port), uint16(port), 0); !errors.Is(err, ErrNoPort) {
		t.Errorf("BindRelay(one-port range, taken) = %v, want ErrNoPort", err)
	}
	if _, _, err := BindRelay("udp4", lo, 50000, 50010, 40000); !errors.Is(err, ErrNoPort) {
		t.Errorf("BindRelay(requested outside the range) = %v, want ErrNoPort", err)
	}
}

func BenchmarkRelayHotPath(b *testing.B) {
	f, _ := netpolicy.New(nil, nil)
	l := quota.NewLimiter(1e12, time.Now())
	ip := netip.MustParseAddr("::ffff:8.8.8.8")
	b.ReportAllocs()
	for b.Loop() {
		if !f.Allowed(ip) || !l.Allow(200, time.Now()) {
			b.Fatal("refused")
		}
	}
}
