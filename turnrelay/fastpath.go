package turnrelay

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
)

// fastPath relays ChannelData from UDP clients to peers straight from the
// listener's batch reader, without a trip through pion's request handler
// (5-tuple fingerprint, allocation and channel lookups under their locks,
// per-datagram request set-up). It is a cache of pion's state, fed by
// pion's EventHandler callbacks, and it only ever narrows what is relayed:
//
//   - A route (client 5-tuple, channel number) → (relay socket, peer)
//     exists only between OnChannelCreated and the first of
//     OnChannelDeleted, OnPermissionDeleted for the peer's IP,
//     OnAllocationDeleted or the relay socket's Close. pion fires the
//     delete callbacks before it forgets the channel, so a route never
//     outlives pion's channel.
//   - Whatever has no route, or is not well-formed ChannelData, goes to
//     pion exactly as before: permission refreshes, re-created
//     permissions, Send indications and all STUN traffic, TCP and TLS
//     clients.
//   - The datagram is written through the relayConn, so the per-datagram
//     peer filter, the bandwidth budget and the metrics apply unchanged.
type fastPath struct {
	mu     sync.RWMutex                  // guards below, and relayConn.ft
	relays map[netip.AddrPort]*relayConn // by advertised relayed address
	allocs map[fiveTuple]*fastAlloc      // UDP clients' allocations
}

// fiveTuple is a UDP client's allocation key: client address and the
// listener address it reached (the transport is always UDP here).
type fiveTuple struct{ client, local netip.AddrPort }

type fastAlloc struct {
	rc    *relayConn
	chans map[uint16]chanRoute // by channel number
}

type chanRoute struct {
	peer   *net.UDPAddr
	peerIP netip.Addr
}

func newFastPath() *fastPath {
	return &fastPath{
		relays: map[netip.AddrPort]*relayConn{},
		allocs: map[fiveTuple]*fastAlloc{},
	}
}

// unmapped is ap with an IPv4-mapped address turned into IPv4 and no zone,
// the form every key here uses.
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// udpAddrPort is a's address when it is a UDP address.
func udpAddrPort(a net.Addr) (netip.AddrPort, bool) {
	ua, ok := a.(*net.UDPAddr)
	if !ok || ua == nil {
		return netip.AddrPort{}, false
	}
	return unmapped(ua.AddrPort()), true
}

// relay sends the ChannelData datagram b from client on local to its peer
// and reports true, or reports false when pion must handle b.
func (f *fastPath) relay(local netip.AddrPort, client net.Addr, b []byte) bool {
	// RFC 8656 §12.4: channel numbers 0x4000-0x7FFF (pion accepts the same
	// range), a length no longer than what follows the header; padding is
	// ignored.
	if len(b) < 4 || b[0]&0xC0 != 0x40 {
		return false
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	if l > len(b)-4 {
		return false
	}
	ap, ok := udpAddrPort(client)
	if !ok {
		return false
	}
	ft := fiveTuple{ap, local}
	number := binary.BigEndian.Uint16(b[0:2])
	f.mu.RLock()
	var rc *relayConn
	var r chanRoute
	ok = false
	if a := f.allocs[ft]; a != nil {
		r, ok = a.chans[number]
		rc = a.rc
	}
	f.mu.RUnlock()
	if !ok || rc.closed.Load() {
		return false
	}
	// pion only logs a failed relay write; so does nothing here.
	_, _ = rc.WriteTo(b[4:4+l], r.peer)
	return true
}

// register makes a relay socket known by its advertised address.
func (f *fastPath) register(rc *relayConn) {
	f.mu.Lock()
	f.relays[rc.addr] = rc
	f.mu.Unlock()
}

// unregister forgets a closed relay socket and every route through it.
func (f *fastPath) unregister(rc *relayConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.relays[rc.addr] == rc {
		delete(f.relays, rc.addr)
	}
	if rc.ft != nil {
		if a := f.allocs[*rc.ft]; a != nil && a.rc == rc {
			delete(f.allocs, *rc.ft)
		}
	}
}

func (f *fastPath) onAllocationCreated(src, dst net.Addr, relay net.Addr) {
	client, ok1 := udpAddrPort(src) // TCP and TLS clients stay with pion
	local, ok2 := udpAddrPort(dst)
	ra, ok3 := udpAddrPort(relay)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	ft := fiveTuple{client, local}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rc, ok := f.relays[ra]; ok && !rc.closed.Load() {
		rc.ft = &ft
		f.allocs[ft] = &fastAlloc{rc: rc, chans: map[uint16]chanRoute{}}
	}
}

func (f *fastPath) onAllocationDeleted(src, dst net.Addr) {
	client, ok1 := udpAddrPort(src)
	local, ok2 := udpAddrPort(dst)
	if !ok1 || !ok2 {
		return
	}
	ft := fiveTuple{client, local}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Only a closed one: a new allocation of the same 5-tuple may already
	// have replaced it.
	if a := f.allocs[ft]; a != nil && a.rc.closed.Load() {
		delete(f.allocs, ft)
	}
}

// alloc is ft's allocation when it is relayAddr's, under f.mu.
func (f *fastPath) alloc(src, dst, relay net.Addr) *fastAlloc {
	client, ok1 := udpAddrPort(src)
	local, ok2 := udpAddrPort(dst)
	ra, ok3 := udpAddrPort(relay)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	a := f.allocs[fiveTuple{client, local}]
	if a == nil || a.rc.addr != ra {
		return nil
	}
	return a
}

func (f *fastPath) onChannelCreated(src, dst, relay, peer net.Addr, number uint16) {
	pa, ok := udpAddrPort(peer)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(src, dst, relay); a != nil && !a.rc.closed.Load() {
		a.chans[number] = chanRoute{peer: net.UDPAddrFromAddrPort(pa), peerIP: pa.Addr()}
	} // else unsure: pion keeps this channel
}

func (f *fastPath) onChannelDeleted(src, dst, relay net.Addr, number uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(src, dst, relay); a != nil {
		delete(a.chans, number)
	}
}

// onPermissionDeleted drops the routes to peer's IP: the channel, if pion
// still has it, is pion's to relay again.
func (f *fastPath) onPermissionDeleted(src, dst, relay net.Addr, peer net.IP) {
	ip, ok := netip.AddrFromSlice(peer)
	if !ok {
		return
	}
	ip = ip.Unmap()
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(src, dst, relay); a != nil {
		for n, r := range a.chans {
			if r.peerIP == ip {
				delete(a.chans, n)
			}
		}
	}
}

// routeCount is the number of live routes (tests).
func (f *fastPath) routeCount() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, a := range f.allocs {
		n += len(a.chans)
	}
	return n
}
