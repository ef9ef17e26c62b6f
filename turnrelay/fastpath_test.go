package turnrelay_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
)

// channelData frames payload for channel n, with length field l and the
// padding to a multiple of 4.
func channelData(n uint16, l int, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload)+3)
	binary.BigEndian.PutUint16(b[0:], n)
	binary.BigEndian.PutUint16(b[2:], uint16(l))
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// boundClient allocates and binds channel 0x4001 to a loopback peer.
func boundClient(t *testing.T, r *relaytest.Relay) (*rawClient, *net.UDPConn, *net.UDPAddr) {
	t.Helper()
	cred := r.Credential("gina", time.Hour)
	c := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
	res := c.allocate()
	if errCode(res) != 0 {
		t.Fatalf("Allocate = %d", errCode(res))
	}
	relayed, err := relayedAddr(res)
	if err != nil {
		t.Fatal(err)
	}
	ps := peerSocket(t)
	pa := ps.LocalAddr().(*net.UDPAddr)
	if got := errCode(c.do(stun.MethodChannelBind, channelNumber(0x4001), peer(pa.IP, pa.Port))); got != 0 {
		t.Fatalf("ChannelBind = %d", got)
	}
	return c, ps, relayed
}

// wantNoRoute checks that r has no fast route, and that ChannelData with
// payload that c sends on channel 0x4001 does not reach the peer ps; when
// says in which case.
func wantNoRoute(t *testing.T, r *relaytest.Relay, c *rawClient, ps net.PacketConn, payload, when string) {
	t.Helper()
	if got := turnrelay.FastRoutes(r.Server); got != 0 {
		t.Errorf("FastRoutes = %d %s, want 0", got, when)
	}
	if _, err := c.conn.WriteTo(channelData(0x4001, len(payload), []byte(payload)), c.server); err != nil {
		t.Fatal(err)
	}
	wantNothing(t, ps, when)
}

// TestChannelDataFastPath: ChannelData on a bound channel reaches the peer
// from the relayed address, exactly framed; what is not a bound channel's
// well-formed ChannelData is not relayed.
func TestChannelDataFastPath(t *testing.T) {
	r := relaytest.Start(t)
	c, ps, relayed := boundClient(t, r)
	if got := turnrelay.FastRoutes(r.Server); got != 1 {
		t.Fatalf("FastRoutes = %d after ChannelBind, want 1", got)
	}
	for _, payload := range []string{"abc", "four", "a longer payload of some bytes"} {
		if _, err := c.conn.WriteTo(channelData(0x4001, len(payload), []byte(payload)), c.server); err != nil {
			t.Fatal(err)
		}
		got, from, err := readWithin(ps, 3*time.Second)
		if err != nil || string(got) != payload {
			t.Fatalf("peer read %q, %v; want %q", got, err, payload)
		}
		if from.String() != relayed.String() {
			t.Errorf("peer saw %v, want the relayed address %v", from, relayed)
		}
	}
	// The peer's answer comes back as ChannelData on the same channel.
	if _, err := ps.WriteTo([]byte("pong"), relayed); err != nil {
		t.Fatal(err)
	}
	got, _, err := readWithin(c.conn, 3*time.Second)
	if err != nil || !bytes.Equal(got, channelData(0x4001, 4, []byte("pong"))) {
		t.Fatalf("client read %x, %v; want ChannelData 0x4001 \"pong\"", got, err)
	}
	// Not relayed: an unbound channel, a length beyond the datagram, a
	// number outside 0x4000-0x7FFF.
	for _, b := range [][]byte{
		channelData(0x4002, 4, []byte("nope")),
		channelData(0x4001, 9, []byte("nope")),
		channelData(0x8001, 4, []byte("nope")),
	} {
		if _, err := c.conn.WriteTo(b, c.server); err != nil {
			t.Fatal(err)
		}
	}
	wantNothing(t, ps, "of what is not to be relayed")
	if n := metricValue(r, "relaynode_relayed_packets_total", "direction", "to_peer"); n != 3 {
		t.Errorf("relayed to_peer = %v, want 3", n)
	}
}

// TestChannelDataAfterDelete: once the allocation is refreshed to 0,
// nothing the client sends on its channel reaches the peer.
func TestChannelDataAfterDelete(t *testing.T) {
	r := relaytest.Start(t)
	c, ps, _ := boundClient(t, r)
	if res := c.do(stun.MethodRefresh, lifetime(0)); errCode(res) != 0 {
		t.Fatalf("Refresh(0) = %d", errCode(res))
	}
	waitFor(t, "allocation released", func() bool { return r.Allocations() == 0 })
	wantNoRoute(t, r, c, ps, "late", "after the allocation was deleted")
}

// TestChannelDataRefusedPeer: a channel to a peer the filter refuses is
// not bound, gets no route, and its ChannelData goes nowhere.
func TestChannelDataRefusedPeer(t *testing.T) {
	r := relaytest.Start(t, func(c *turnrelay.Config) { c.AllowPeers = nil })
	c := allocatedUDP(t, r, "hank")
	ps := peerSocket(t)
	pa := ps.LocalAddr().(*net.UDPAddr)
	if got := errCode(c.do(stun.MethodChannelBind, channelNumber(0x4001), peer(pa.IP, pa.Port))); got == 0 {
		t.Fatal("ChannelBind to a refused peer succeeded")
	}
	wantNoRoute(t, r, c, ps, "ssrf", "for a refused peer")
}

// TestPionClientChannels: pion's own client binds a channel on its first
// send; a burst then flows both ways through the fast path, and closing
// the client's relayed conn (Refresh 0) removes the route.
func TestPionClientChannels(t *testing.T) {
	r := relaytest.Start(t)
	c, conn := pionUDP(t, r, "ivan")
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	ps := peerSocket(t)
	echoThrough(t, relayed, ps, conn.LocalAddr()) // binds the channel
	waitFor(t, "a fast route", func() bool { return turnrelay.FastRoutes(r.Server) == 1 })
	const n = 200
	for i := range n {
		if _, err := relayed.WriteTo([]byte{byte(i), 'x', 'y', 'z', 'w'}, ps.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		got, from, err := readWithin(ps, 3*time.Second)
		if err != nil || len(got) != 5 || got[0] != byte(i) {
			t.Fatalf("message %d: peer read %x, %v", i, got, err)
		}
		if _, err := ps.WriteTo(got, from); err != nil {
			t.Fatal(err)
		}
		back, _, err := readWithin(relayed, 3*time.Second)
		if err != nil || !bytes.Equal(back, got) {
			t.Fatalf("message %d: client read %x, %v", i, back, err)
		}
	}
	if err := relayed.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "allocation released", func() bool { return r.Allocations() == 0 })
	if got := turnrelay.FastRoutes(r.Server); got != 0 {
		t.Errorf("FastRoutes = %d after Close, want 0", got)
	}
}
