package testenv

import (
	"fmt"
	"net"
	"testing"
)

func TestFreePorts(t *testing.T) {
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", FreeUDPPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	u.Close()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", FreeTCPPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestFreeUDPTCPPort(t *testing.T) {
	port := FreeUDPTCPPort(t)
	u, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
