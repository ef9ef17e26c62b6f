//go:build !linux

package dataplane

import (
	"errors"
	"net"
	"net/netip"
)

// Without epoll, recvmmsg and sendmmsg there are no event loops: relay
// sockets are plain ones and pion reads each from its own goroutine.

type socket struct {
	net.PacketConn
	rc  *relayConn
	ctr *counters
}

type loop struct{}

func (p *Plane) startLoops() {
	p.notice("dataplane: no event loops on this system; relay sockets are read by pion, one goroutine each")
}

func (p *Plane) attach(*socket) bool { return false }

func (p *Plane) stopLoops() { p.loopsOnce.Do(func() {}) }

func bindSocket(string, netip.AddrPort) (*socket, error) {
	return nil, errors.New("dataplane: no event loops")
}
