package pionclient_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"github.com/pion/transport/v5/stdnet"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
)

// TestSealedNet: the hardened network lists no interfaces, refuses
// listening sockets on specific addresses, and every socket it opens
// (TURN/UDP, TURN/TCP, TLS over it) reports a blank local address while
// it still carries data.
func TestSealedNet(t *testing.T) {
	base, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	n := pionclient.NewSealedNet(base)
	if ifs, err := n.Interfaces(); err != nil || len(ifs) != 0 {
		t.Errorf("Interfaces() = %v, %v; want none", ifs, err)
	}
	if _, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); !errors.Is(err, pionclient.ErrRefusedSocket) {
		t.Errorf("ListenUDP error = %v, want ErrRefusedSocket", err)
	}
	if _, err := n.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}); !errors.Is(err, pionclient.ErrRefusedSocket) {
		t.Errorf("ListenTCP error = %v, want ErrRefusedSocket", err)
	}
	if _, err := n.ListenPacket("udp4", "127.0.0.1:0"); !errors.Is(err, pionclient.ErrRefusedSocket) {
		t.Errorf("ListenPacket(127.0.0.1:0) error = %v, want ErrRefusedSocket", err)
	}

	pc, err := n.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if a, ok := pc.LocalAddr().(*net.UDPAddr); !ok || a.String() != "0.0.0.0:9" {
		t.Errorf("UDP LocalAddr() = %#v, want *net.UDPAddr 0.0.0.0:9", pc.LocalAddr())
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := pc.WriteTo([]byte("x"), peer.LocalAddr()); err != nil {
		t.Errorf("WriteTo through the blanked socket: %v", err)
	}

	srvCfg, pool := relaytest.TLSConfig(t, "127.0.0.1")
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_, _ = c.Write([]byte("hello"))
			_ = c.Close()
		}
	}()
	tc, err := n.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := tc.LocalAddr().(*net.TCPAddr); !ok || a.String() != "0.0.0.0:9" {
		t.Errorf("TCP LocalAddr() = %#v, want *net.TCPAddr 0.0.0.0:9", tc.LocalAddr())
	}
	tlsConn := tls.Client(tc, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	defer tlsConn.Close()
	buf := make([]byte, 5)
	if _, err := tlsConn.Read(buf); err != nil || string(buf) != "hello" {
		t.Errorf("TLS over the blanked connection read %q, %v", buf, err)
	}
	if a := tlsConn.LocalAddr().String(); a != "0.0.0.0:9" {
		t.Errorf("TLS LocalAddr() = %s, want 0.0.0.0:9", a)
	}
}
