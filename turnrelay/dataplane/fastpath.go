package dataplane

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"syscall"
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
	mu     sync.RWMutex                  // guards below, and relayConn.ft and .fa
	relays map[netip.AddrPort]*relayConn // by advertised relayed address
	allocs map[fiveTuple]*fastAlloc      // UDP clients' allocations
	out    map[netip.AddrPort][]*sender  // UDP listener sockets by address
}

// fiveTuple is a UDP client's allocation key: client address and the
// listener address it reached (the transport is always UDP here).
type fiveTuple struct{ client, local netip.AddrPort }

// fastAlloc is what the data plane knows of a UDP client's allocation:
// its channels and permissions, and where the peers' datagrams go.
type fastAlloc struct {
	rc     *relayConn
	chans  map[uint16]chanRoute      // by channel number
	byPeer map[netip.AddrPort]uint16 // channel numbers by peer
	perms  map[netip.Addr]struct{}   // peer IPs with a permission
	client netip.AddrPort            // the client's address
	out    []*sender                 // listener sockets of the client's 5-tuple (same address)
}

type chanRoute struct {
	peer   *net.UDPAddr
	peerAP netip.AddrPort
}

// routeLocked is the channel number and whether it is bound that the
// peer's datagram travels in, and whether the peer may send at all
// (RFC 8656 §10.3: a permission for its IP). Under fastPath.mu.
func (a *fastAlloc) routeLocked(peer netip.AddrPort) (number uint16, bound, permitted bool) {
	if _, ok := a.perms[peer.Addr()]; !ok {
		return 0, false, false
	}
	number, bound = a.byPeer[peer]
	return number, bound, true
}

func newFastPath() *fastPath {
	return &fastPath{
		relays: map[netip.AddrPort]*relayConn{},
		allocs: map[fiveTuple]*fastAlloc{},
		out:    map[netip.AddrPort][]*sender{},
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
func (f *fastPath) relay(local, client netip.AddrPort, b []byte) bool {
	number, data, ok := ParseChannelData(b)
	if !ok {
		return false
	}
	ft := fiveTuple{client, local}
	f.mu.RLock()
	var rc *relayConn
	var r chanRoute
	ok = false
	if a := f.allocs[ft]; a != nil {
		r, ok = a.chans[number]
		if ok {
			_, ok = a.perms[r.peerAP.Addr()]
		}
		rc = a.rc
	}
	f.mu.RUnlock()
	if !ok || rc.closed.Load() {
		return false
	}
	// pion only logs a failed relay write; so does nothing here.
	_, _ = rc.WriteTo(data, r.peer)
	return true
}

// ParseChannelData splits a ChannelData message (RFC 8656 §12.4): channel
// numbers 0x4000-0x7FFF (pion accepts the same range), a length no longer
// than what follows the header; padding is ignored. data aliases b.
func ParseChannelData(b []byte) (number uint16, data []byte, ok bool) {
	if len(b) < 4 || b[0]&0xC0 != 0x40 {
		return 0, nil, false
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	if l > len(b)-4 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b[0:2]), b[4 : 4+l], true
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
	rc.fa = nil
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
		a := &fastAlloc{
			rc: rc, chans: map[uint16]chanRoute{}, byPeer: map[netip.AddrPort]uint16{},
			perms: map[netip.Addr]struct{}{}, client: ca, out: f.out[la],
		}
		f.allocs[ft] = a
		if len(a.out) > 0 { // the data plane sends the peers' datagrams
			rc.fa = a
		}
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
		a.rc.fa = nil
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
		if old, ok := a.chans[number]; ok {
			delete(a.byPeer, old.peerAP)
		}
		a.chans[number] = chanRoute{peer: net.UDPAddrFromAddrPort(pa), peerAP: pa}
		a.byPeer[pa] = number
	} // else unsure: pion keeps this channel
}

// ChannelDeleted is pion's OnChannelDeleted.
func (f *fastPath) ChannelDeleted(client, local, relayed net.Addr, number uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(client, local, relayed); a != nil {
		if r, ok := a.chans[number]; ok {
			delete(a.byPeer, r.peerAP)
			delete(a.chans, number)
		}
	}
}

// PermissionCreated is pion's OnPermissionCreated: peers at peer's IP may
// now send to the allocation on relayed (a refreshed permission fires no
// event and needs none).
func (f *fastPath) PermissionCreated(client, local, relayed net.Addr, peer net.IP) {
	f.permission(client, local, relayed, peer, func(a *fastAlloc, ip netip.Addr) {
		if !a.rc.closed.Load() {
			a.perms[ip] = struct{}{}
		}
	})
}

// PermissionDeleted is pion's OnPermissionDeleted: nothing is relayed to
// or from peer's IP any more, on a channel or not, until pion creates the
// permission again.
func (f *fastPath) PermissionDeleted(client, local, relayed net.Addr, peer net.IP) {
	f.permission(client, local, relayed, peer, func(a *fastAlloc, ip netip.Addr) { delete(a.perms, ip) })
}

// permission runs change, under the lock, on the allocation pion names
// and the peer's (unmapped) IP, if both are known.
func (f *fastPath) permission(client, local, relayed net.Addr, peer net.IP, change func(*fastAlloc, netip.Addr)) {
	ip, ok := netip.AddrFromSlice(peer)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alloc(client, local, relayed); a != nil {
		change(a, ip.Unmap())
	}
}

// Routes is the number of live ChannelData routes: bound channels whose
// peer has a permission.
func (f *fastPath) Routes() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, a := range f.allocs {
		for _, r := range a.chans {
			if _, ok := a.perms[r.peerAP.Addr()]; ok {
				n++
			}
		}
	}
	return n
}

// sender is a UDP listener socket the data plane sends the peers'
// datagrams from, to clients that reached its address.
type sender struct {
	raw syscall.RawConn
	v6  bool // an AF_INET6 socket: IPv4 clients are sent to as IPv4-mapped
}

// addListener makes c, a UDP listener socket, a sender.
func (f *fastPath) addListener(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	ua := c.LocalAddr().(*net.UDPAddr)
	la := unmapped(ua.AddrPort())
	f.mu.Lock()
	f.out[la] = append(f.out[la], &sender{raw: raw, v6: ua.IP.To4() == nil})
	f.mu.Unlock()
	return nil
}
