package testenv

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
)

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "udp")
}

// ListenUDP opens a UDP socket on 127.0.0.1 at a free port, closed when
// the test ends.
func ListenUDP(t testing.TB) net.PacketConn {
	t.Helper()
	var lc net.ListenConfig
	c, err := lc.ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "tcp")
}

// FreeUDPTCPPort returns a port on 127.0.0.1 that was free for UDP and
// TCP alike a moment ago (for servers such as coturn that listen on both).
// It keeps the UDP port bound while it tries the TCP one.
func FreeUDPTCPPort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	for range 20 {
		u, err := lc.ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ap, err := netip.ParseAddrPort(u.LocalAddr().String())
		if err != nil {
			u.Close()
			t.Fatal(err)
		}
		l, err := lc.Listen(t.Context(), "tcp4", fmt.Sprintf("127.0.0.1:%d", ap.Port()))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return int(ap.Port())
	}
	t.Fatal("no free UDP+TCP port on 127.0.0.1")
	return 0
}

// freePort binds port 0 of 127.0.0.1 on network ("udp" or "tcp"), closes
// it again and returns the port the kernel chose.
func freePort(t testing.TB, network string) int {
	t.Helper()
	var (
		lc   net.ListenConfig
		c    io.Closer
		addr net.Addr
		err  error
	)
	if network == "udp" {
		var pc net.PacketConn
		if pc, err = lc.ListenPacket(t.Context(), network, "127.0.0.1:0"); err == nil {
			c, addr = pc, pc.LocalAddr()
		}
	} else {
		var l net.Listener
		if l, err = lc.Listen(t.Context(), network, "127.0.0.1:0"); err == nil {
			c, addr = l, l.Addr()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return int(ap.Port())
}
