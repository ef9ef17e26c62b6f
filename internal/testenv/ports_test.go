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
