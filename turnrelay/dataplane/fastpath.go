package dataplane

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
// pion's EventHandler callbacks through its exported methods (the server
// passes their addresses on unchanged: client is pion's src, local its dst,
// the listener address the client reached), and it only ever narrows what
// is relayed:
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
//     peer filter, the bandwidth budget and the counters apply unchanged.
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

// AllocationCreated is pion's OnAllocationCreated: a UDP client's
// allocation on the relay socket advertised as relayed.
func (f *fastPath) AllocationCreated(client, local, relayed net.Addr) {
	ca, ok1 := udpAddrPort(client) // TCP and TLS clients stay with pion
	la, ok2 := udpAddrPort(local)
	ra, ok3 := udpAddrPort(relayed)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	ft := fiveTuple{ca, la}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rc, ok := f.relays[ra]; ok && !rc.closed.Load() {
		rc.ft = &ft
		f.allocs[ft] = &fastAlloc{rc: rc, chans: map[uint16]chanRoute{}}
	}
}

// AllocationDeleted is pion's OnAllocationDeleted.
func (f *fastPath) AllocationDeleted(client, local net.Addr) {
	ca, ok1 := udpAddrPort(client)
	la, ok2 := udpAddrPort(local)
	if !ok1 || !ok2 {
		return
	}
	ft := fiveTuple{ca, la}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Only a closed one: a new allocation of the same 5-tuple may already
	// have replaced it.
	if a := f.allocs[ft]; a != nil && a.rc.closed.Load() {
		delete(f.allocs, ft)
	}
}

// alloc is the client's allocation when it is relayed's, under f.mu.
func (f *fastPath) alloc(client, local, relayed net.Addr) *fastAlloc {
	ca, ok1 := udpAddrPort(client)
	la, ok2 := udpAddrPort(local)
	ra, ok3 := udpAddrPort(relayed)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	a := f.allocs[fiveTuple{ca, la}]
	if a == nil || a.rc.addr != ra {
		return nil
	}
	return a
}

// ChannelCreated is pion's OnChannelCreated: channel number of the
// allocation on relayed now leads to peer.
func (f *fastPath) ChannelCreated(client, local, relayed, peer net.Addr, number uint16) {
	pa, ok := udpAddrPort(peer)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(client, local, relayed); a != nil && !a.rc.closed.Load() {
		a.chans[number] = chanRoute{peer: net.UDPAddrFromAddrPort(pa), peerIP: pa.Addr()}
	} // else unsure: pion keeps this channel
}

// ChannelDeleted is pion's OnChannelDeleted.
func (f *fastPath) ChannelDeleted(client, local, relayed net.Addr, number uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(client, local, relayed); a != nil {
		delete(a.chans, number)
	}
}

// PermissionDeleted is pion's OnPermissionDeleted: it drops the routes to
// peer's IP; the channel, if pion still has it, is pion's to relay again.
func (f *fastPath) PermissionDeleted(client, local, relayed net.Addr, peer net.IP) {
	ip, ok := netip.AddrFromSlice(peer)
	if !ok {
		return
	}
	ip = ip.Unmap()
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(client, local, relayed); a != nil {
		for n, r := range a.chans {
			if r.peerIP == ip {
				delete(a.chans, n)
			}
		}
	}
}

// Routes is the number of live ChannelData routes.
func (f *fastPath) Routes() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, a := range f.allocs {
		n += len(a.chans)
	}
	return n
}
