package dataplane

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/netpolicy"
)

// serve reads every PacketConn of l until it is closed, handing what the
// fast path does not take to got.
func serve(t *testing.T, l *Listener, got chan<- string) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for _, pc := range l.PacketConns() {
		wg.Go(func() {
			buf := make([]byte, 2048)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				got <- string(buf[:n])
			}
		})
	}
	return &wg
}

// planeWithListener is a Plane allowing peers in allow, with a UDP
// listener on 127.0.0.1 whose control-plane datagrams go to toControl,
// all closed when the test ends.
func planeWithListener(t *testing.T, allow string, toControl chan<- string) (*Plane, *Listener) {
	t.Helper()
	filter, err := netpolicy.New([]netip.Prefix{netip.MustParsePrefix(allow)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Filter: filter})
	l, err := p.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	wg := serve(t, l, toControl)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
		p.Close()
	})
	return p, l
}

// TestListenerFastPath: the UDP listener shares one port across its
// sockets; a bound channel's ChannelData goes from the client to the peer
// through the relay socket without reaching the control plane, and
// anything else reaches it.
func TestListenerFastPath(t *testing.T) {
	toControl := make(chan string, 16)
	p, l := planeWithListener(t, "127.0.0.1/32", toControl)
	if n := len(l.PacketConns()); reusePortSupported && n != SocketCount() {
		t.Errorf("listener has %d sockets, want SocketCount() = %d", n, SocketCount())
	}

	c := boundChannel(t, p, l)
	c.toPeer(t, "hello")
	c.toControl(t, toControl, "not channel data")
	if s := p.Stats(); s.PacketsToPeer != 1 || s.BytesToPeer != 5 {
		t.Errorf("Stats() = %+v, want one 5-byte datagram to the peer", s)
	}
}

// TestListenerLoneDatagrams: datagrams that each come alone, after the
// reader found its socket empty and parked, all arrive, whether the fast
// path takes them or pion gets them. The reader parks without the last
// recvmmsg that would only say the socket is empty, so a datagram that
// comes just then must still wake it.
func TestListenerLoneDatagrams(t *testing.T) {
	toControl := make(chan string, 1)
	p, l := planeWithListener(t, "127.0.0.1/32", toControl)
	c := boundChannel(t, p, l)
	for i := range 300 {
		if i%3 == 2 {
			c.toControl(t, toControl, fmt.Sprint("control ", i))
		} else {
			c.toPeer(t, fmt.Sprint("data ", i))
		}
	}
}

// channel is a client with channel 0x4001 bound to peer through a relay
// socket of the listener's plane.
type channel struct {
	client, peer *net.UDPConn
	local        net.Addr       // the listener
	relayed      netip.AddrPort // the relay socket
}

func boundChannel(t *testing.T, p *Plane, l *Listener) channel {
	t.Helper()
	client, relaySock, peer := udpSocket(t), udpSocket(t), udpSocket(t)
	relayed := relaySock.LocalAddr().(*net.UDPAddr).AddrPort()
	p.Wrap(relaySock, relayed, nil)
	local := net.UDPAddrFromAddrPort(l.Addr())
	p.AllocationCreated(client.LocalAddr(), local, relaySock.LocalAddr())
	p.PermissionCreated(client.LocalAddr(), local, relaySock.LocalAddr(), peer.LocalAddr().(*net.UDPAddr).IP)
	p.ChannelCreated(client.LocalAddr(), local, relaySock.LocalAddr(), peer.LocalAddr(), 0x4001)
	if p.Routes() != 1 {
		t.Fatalf("Routes() = %d, want 1", p.Routes())
	}
	return channel{client: client, peer: peer, local: local, relayed: relayed}
}

// toPeer sends msg as ChannelData and checks the peer gets it from the
// relayed address.
func (c channel) toPeer(t *testing.T, msg string) {
	t.Helper()
	frame := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0x4001), uint16(len(msg))) //nolint:gosec // G115: a short test message
	if _, err := c.client.WriteTo(append(frame, msg...), c.local); err != nil {
		t.Fatal(err)
	}
	if got, from := readOne(t, c.peer); got != msg || from != c.relayed {
		t.Fatalf("peer got %q from %v, want %q from the relayed address %v", got, from, msg, c.relayed)
	}
}

// toControl sends msg, no ChannelData, and checks the control plane gets it.
func (c channel) toControl(t *testing.T, got <-chan string, msg string) {
	t.Helper()
	if _, err := c.client.WriteTo([]byte(msg), c.local); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != msg {
			t.Fatalf("control plane got %q, want %q", g, msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q, no ChannelData, did not reach the control plane", msg)
	}
}

func udpSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func readOne(t *testing.T, c *net.UDPConn) (string, netip.AddrPort) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n]), from
}
