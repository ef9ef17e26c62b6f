package testenv

import (
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

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "tcp")
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
