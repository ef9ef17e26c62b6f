package dataplane

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// relaySocket binds and wraps a relay socket the event loops read.
func relaySocket(t *testing.T, p *Plane) (net.PacketConn, *net.UDPAddr) {
	t.Helper()
	c, port, err := p.BindRelay("udp4", netip.MustParseAddr("127.0.0.1"), 40000, 60000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*socket); !ok {
		t.Fatalf("BindRelay gave a %T, want the event loops' socket", c)
	}
	relayed := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	rc := p.Wrap(c, relayed.AddrPort(), nil)
	t.Cleanup(func() { _ = rc.Close() })
	return rc, relayed
}

// readFor reads one datagram within d; ok false on timeout.
func readFor(t *testing.T, c *net.UDPConn, d time.Duration) ([]byte, netip.AddrPort, bool) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, netip.AddrPort{}, false
		}
		t.Fatal(err)
	}
	return buf[:n], from, true
}

// TestPeerToClient: the event loop relays a peer's datagram to the client
// as a Data indication while there is only a permission, as ChannelData
// once a channel is bound, and nothing once the permission is gone or for
// a peer without one; every datagram read is counted.
func TestPeerToClient(t *testing.T) {
	p, l := planeWithListener(t, "127.0.0.0/8", make(chan string, 1024))
	client, peer := udpSocket(t), udpSocket(t)
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	defer other.Close()
	_, relayed := relaySocket(t, p)
	local := net.UDPAddrFromAddrPort(l.Addr())
	peerAP := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	p.AllocationCreated(client.LocalAddr(), local, relayed)
	p.PermissionCreated(client.LocalAddr(), local, relayed, peer.LocalAddr().(*net.UDPAddr).IP)

	send := func(c *net.UDPConn, s string) {
		t.Helper()
		if _, err := c.WriteTo([]byte(s), relayed); err != nil {
			t.Fatal(err)
		}
	}
	send(peer, "indicated")
	got, from, ok := readFor(t, client, 3*time.Second)
	if !ok {
		t.Fatal("the client got no Data indication")
	}
	if from != l.Addr() {
		t.Errorf("Data indication from %v, want the listener %v", from, l.Addr())
	}
	m := &stun.Message{Raw: got}
	if err := m.Decode(); err != nil {
		t.Fatalf("decode the Data indication: %v", err)
	}
	var xpa stun.XORMappedAddress // same encoding as XOR-PEER-ADDRESS
	if err := xpa.GetFromAs(m, stun.AttrXORPeerAddress); err != nil {
		t.Fatalf("XOR-PEER-ADDRESS: %v", err)
	}
	data, err := m.Get(stun.AttrData)
	if m.Type != stun.NewType(stun.MethodData, stun.ClassIndication) || err != nil ||
		string(data) != "indicated" || xpa.Port != int(peerAP.Port()) || !xpa.IP.Equal(peerAP.Addr().AsSlice()) {
		t.Errorf("Data indication %v: peer %v, data %q (%v); want from %v, \"indicated\"", m.Type, xpa, data, err, peerAP)
	}

	p.ChannelCreated(client.LocalAddr(), local, relayed, peer.LocalAddr(), 0x4001)
	send(peer, "chan!")
	got, _, ok = readFor(t, client, 3*time.Second)
	want := []byte{0x40, 0x01, 0, 5, 'c', 'h', 'a', 'n', '!', 0, 0, 0} // padded as pion does
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("ChannelData = %x, %v; want %x", got, ok, want)
	}

	send(other, "no permission")
	p.PermissionDeleted(client.LocalAddr(), local, relayed, peer.LocalAddr().(*net.UDPAddr).IP)
	send(peer, "permission gone")
	if got, _, ok := readFor(t, client, 300*time.Millisecond); ok {
		t.Errorf("the client got %q without a permission", got)
	}
	if s := p.Stats(); s.PacketsFromPeer != 4 || s.BytesFromPeer != uint64(len("indicated")+5+len("no permission")+len("permission gone")) {
		t.Errorf("Stats() = %+v, want the 4 datagrams read counted", s)
	}
}

// TestPeerToPion: a relay socket whose allocation the data plane does not
// relay (a TCP client's) hands the peers' datagrams to pion's ReadFrom,
// which returns net.ErrClosed once the socket is closed.
func TestPeerToPion(t *testing.T) {
	p, _ := planeWithListener(t, "127.0.0.0/8", make(chan string, 1024))
	peer := udpSocket(t)
	rc, relayed := relaySocket(t, p)
	if _, err := peer.WriteTo([]byte("for pion"), relayed); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1600)
	n, from, err := rc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "for pion" || from.String() != peer.LocalAddr().String() {
		t.Errorf("ReadFrom = %q, %v, %v; want \"for pion\" from %v", buf[:n], from, err, peer.LocalAddr())
	}
	done := make(chan error, 1)
	go func() { _, _, err := rc.ReadFrom(buf); done <- err }()
	_ = rc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrom after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ReadFrom did not return after Close")
	}
}

// TestChurnWhileRelaying races allocations being made, given permissions
// and channels and closed against peers' traffic to them (run with
// -race). Every relay socket ends detached from its loop, and what the
// client got is well-formed.
func TestChurnWhileRelaying(t *testing.T) {
	p, l := planeWithListener(t, "127.0.0.0/8", make(chan string, 1024))
	client, peer := udpSocket(t), udpSocket(t)
	local := net.UDPAddrFromAddrPort(l.Addr())
	peerIP := peer.LocalAddr().(*net.UDPAddr).IP
	const workers, rounds = 4, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var relays sync.Map // relayed addresses the peer sends to
	wg.Go(func() {      // the peer
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			relays.Range(func(k, _ any) bool {
				_, _ = peer.WriteTo(fmt.Appendf(nil, "d%d", i), k.(*net.UDPAddr))
				return true
			})
			runtime.Gosched()
		}
	})
	var clientGot, malformed int
	wg.Go(func() { // the client
		buf := make([]byte, 2048)
		for {
			_ = client.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, _, err := client.ReadFrom(buf)
			if err != nil {
				select {
				case <-stop:
					return
				default:
					continue
				}
			}
			clientGot++
			if _, _, ok := ParseChannelData(buf[:n]); !ok && !stun.IsMessage(buf[:n]) {
				malformed++
			}
		}
	})
	var churn sync.WaitGroup
	for w := range workers {
		churn.Go(func() {
			for r := range rounds {
				c, port, err := p.BindRelay("udp4", netip.MustParseAddr("127.0.0.1"), 40000, 60000, 0)
				if err != nil {
					t.Error(err)
					return
				}
				relayed := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
				rc := p.Wrap(c, relayed.AddrPort(), nil)
				// each worker its own client 5-tuple, as pion keys allocations
				cl := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: client.LocalAddr().(*net.UDPAddr).Port}
				if w > 0 {
					cl = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1 + w}
				}
				p.AllocationCreated(cl, local, relayed)
				p.PermissionCreated(cl, local, relayed, peerIP)
				relays.Store(relayed, nil)
				if r%2 == 0 {
					p.ChannelCreated(cl, local, relayed, peer.LocalAddr(), 0x4000+uint16(r))
				}
				// let some traffic reach this allocation: poll, bounded
				seen, deadline := p.Stats().PacketsFromPeer, time.Now().Add(50*time.Millisecond)
				for p.Stats().PacketsFromPeer == seen && time.Now().Before(deadline) {
					runtime.Gosched()
				}
				relays.Delete(relayed)
				p.PermissionDeleted(cl, local, relayed, peerIP)
				_ = rc.Close()
				p.AllocationDeleted(cl, local)
			}
		})
	}
	churn.Wait()
	close(stop)
	wg.Wait()
	for _, lp := range p.loops {
		lp.mu.Lock()
		n := len(lp.socks)
		lp.mu.Unlock()
		if n != 0 {
			t.Errorf("loop %d still has %d sockets", lp.idx, n)
		}
	}
	if malformed > 0 {
		t.Errorf("%d of %d datagrams the client got were neither ChannelData nor STUN", malformed, clientGot)
	}
	if p.Routes() != 0 {
		t.Errorf("Routes() = %d after every allocation closed", p.Routes())
	}
	t.Logf("client got %d datagrams; %+v", clientGot, p.Stats())
}

// BenchmarkIdleAllocation measures the heap an idle allocation costs the
// data plane: its relay socket, wrapper, route table entry and loop
// registration (pion's own allocation, goroutine and timers not counted).
func BenchmarkIdleAllocation(b *testing.B) {
	p := New(Config{})
	defer p.Close()
	local := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3478}
	const n = 500
	var conns []net.PacketConn
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			c, port, err := p.BindRelay("udp4", netip.MustParseAddr("127.0.0.1"), 40000, 60000, 0)
			if err != nil {
				b.Fatal(err)
			}
			relayed := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
			conns = append(conns, p.Wrap(c, relayed.AddrPort(), nil))
			cl := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 1024 + i}
			p.AllocationCreated(cl, local, relayed)
			p.PermissionCreated(cl, local, relayed, net.IPv4(127, 0, 0, 3))
			p.ChannelCreated(cl, local, relayed, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3), Port: 9}, 0x4000)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		for _, c := range conns {
			_ = c.Close()
		}
		conns = conns[:0]
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/alloc")
}
