package dataplane

import (
	"net"
	"net/netip"
	"testing"
)

// TestFastPathRoutes drives the route table with pion's callbacks in the
// orders pion fires them: a route lives from OnChannelCreated until the
// channel, its peer's permission, the allocation or the relay socket goes,
// and events about another (older) allocation of the same 5-tuple do not
// touch it.
func TestFastPathRoutes(t *testing.T) {
	udp := func(s string) *net.UDPAddr { return net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	client, local := udp("192.0.2.1:5000"), udp("127.0.0.1:3478")
	peerA, peerB := udp("198.51.100.7:9000"), udp("198.51.100.8:9000")
	newRC := func(f *fastPath, relay string) *relayConn {
		rc := &relayConn{addr: netip.MustParseAddrPort(relay)}
		f.register(rc)
		return rc
	}
	setup := func() (*fastPath, *relayConn) {
		f := newFastPath()
		rc := newRC(f, "203.0.113.1:50000")
		f.AllocationCreated(client, local, udp("203.0.113.1:50000"))
		// pion creates (or refreshes) a channel's permission first.
		f.PermissionCreated(client, local, udp("203.0.113.1:50000"), peerA.IP)
		f.ChannelCreated(client, local, udp("203.0.113.1:50000"), peerA, 0x4001)
		f.PermissionCreated(client, local, udp("203.0.113.1:50000"), peerB.IP)
		f.ChannelCreated(client, local, udp("203.0.113.1:50000"), peerB, 0x4002)
		if n := f.Routes(); n != 2 {
			t.Fatalf("routes = %d, want 2", n)
		}
		return f, rc
	}
	relay := udp("203.0.113.1:50000")

	f, _ := setup()
	f.ChannelDeleted(client, local, relay, 0x4001)
	if n := f.Routes(); n != 1 {
		t.Errorf("after OnChannelDeleted: routes = %d, want 1", n)
	}

	f, _ = setup()
	f.PermissionDeleted(client, local, relay, peerA.IP)
	if n := f.Routes(); n != 1 {
		t.Errorf("after OnPermissionDeleted: routes = %d, want 1", n)
	}
	f.PermissionCreated(client, local, relay, peerA.IP) // re-created while pion kept the channel
	if n := f.Routes(); n != 2 {
		t.Errorf("after the permission came back: routes = %d, want 2", n)
	}
	f.PermissionDeleted(client, local, relay, peerA.IP)
	f.ChannelDeleted(client, local, udp("203.0.113.1:50001"), 0x4002) // another relay's event
	if n := f.Routes(); n != 1 {
		t.Errorf("another relay's OnChannelDeleted removed a route: routes = %d, want 1", n)
	}

	f, rc := setup()
	_ = rc.closed.Swap(true)
	f.unregister(rc)
	if n := f.Routes(); n != 0 {
		t.Errorf("after the relay socket closed: routes = %d, want 0", n)
	}
	if ok := f.relay(netip.MustParseAddrPort("127.0.0.1:3478"), client.AddrPort(), []byte{0x40, 0x01, 0, 1, 'x', 0, 0, 0}); ok {
		t.Error("relay() took a datagram for a closed allocation")
	}

	// Allocation deleted and re-created on the same 5-tuple: the old
	// allocation's late OnAllocationDeleted leaves the new one alone.
	f, rc = setup()
	_ = rc.closed.Swap(true)
	f.unregister(rc)
	newRC(f, "203.0.113.1:50002")
	f.AllocationCreated(client, local, udp("203.0.113.1:50002"))
	f.PermissionCreated(client, local, udp("203.0.113.1:50002"), peerA.IP)
	f.ChannelCreated(client, local, udp("203.0.113.1:50002"), peerA, 0x4001)
	f.AllocationDeleted(client, local)
	f.ChannelDeleted(client, local, relay, 0x4001) // the old one's, late
	if n := f.Routes(); n != 1 {
		t.Errorf("the old allocation's events removed the new one's route: routes = %d, want 1", n)
	}

	// TCP clients are pion's alone.
	f = newFastPath()
	newRC(f, "203.0.113.1:50000")
	tcpClient := &net.TCPAddr{IP: client.IP, Port: client.Port}
	f.AllocationCreated(tcpClient, local, relay)
	f.ChannelCreated(tcpClient, local, relay, peerA, 0x4001)
	if n := f.Routes(); n != 0 {
		t.Errorf("TCP client got %d routes, want 0", n)
	}
}
