package dataplane

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/turnrelay/quota"
)

// Config wires a Plane to the node's policy. Its zero value relays to the
// public Internet only, without a bandwidth budget.
type Config struct {
	Filter    *netpolicy.Filter // peers relay sockets exchange datagrams with; default netpolicy.New(nil, nil)
	Bandwidth *quota.Limiter    // budget every relayed datagram draws on; nil is none
	Now       func() time.Time  // clock of the budget; default time.Now
	// Notice is told, once, of a feature the system lacks and what the
	// data plane does instead; nil discards it.
	Notice func(msg string)
}

// Plane is the data plane one relay node shares across its listener
// sockets and allocations: the fast path's routes, the policy every relay
// socket applies and the counters they keep. It is safe for concurrent use.
type Plane struct {
	*fastPath // pion's events feed it through its exported methods

	filter    *netpolicy.Filter
	bandwidth *quota.Limiter
	now       func() time.Time
	ctr       counters

	noticeFn   func(string)
	noticeOnce sync.Once
	loopsOnce  sync.Once // starts the event loops, at the first relay socket
	loops      []*loop
	nextLoop   atomic.Uint32
}

// New returns a Plane with no listener, allocation or route yet.
func New(cfg Config) *Plane {
	if cfg.Filter == nil {
		cfg.Filter, _ = netpolicy.New(nil, nil) // cannot fail without prefixes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Plane{fastPath: newFastPath(), filter: cfg.Filter, bandwidth: cfg.Bandwidth, now: cfg.Now, noticeFn: cfg.Notice}
}

// notice passes msg to Config.Notice, the first time only.
func (p *Plane) notice(msg string) {
	p.noticeOnce.Do(func() {
		if p.noticeFn != nil {
			p.noticeFn(msg)
		}
	})
}

// Close stops the event loops that read relay sockets; call it once the
// relay sockets are closed. The Plane then relays nothing from peers.
func (p *Plane) Close() { p.stopLoops() }

// counters are the data plane's hot-path counters.
type counters struct {
	bytesToPeer, bytesFromPeer     atomic.Uint64
	packetsToPeer, packetsFromPeer atomic.Uint64
	droppedBandwidth               atomic.Uint64
	droppedPeer                    atomic.Uint64
	droppedOverload                atomic.Uint64
}

// Stats are what a Plane relayed and dropped since it was created.
type Stats struct {
	BytesToPeer, BytesFromPeer     uint64 // payload bytes relayed, client to peer and back
	PacketsToPeer, PacketsFromPeer uint64 // datagrams relayed
	DroppedBandwidth               uint64 // datagrams dropped over the bandwidth budget
	DroppedPeer                    uint64 // datagrams dropped for a peer the filter refuses
	DroppedOverload                uint64 // datagrams dropped for want of room in a socket or queue
}

// Stats reads the counters (each atomically, not all at one instant).
func (p *Plane) Stats() Stats {
	return Stats{
		BytesToPeer: p.ctr.bytesToPeer.Load(), BytesFromPeer: p.ctr.bytesFromPeer.Load(),
		PacketsToPeer: p.ctr.packetsToPeer.Load(), PacketsFromPeer: p.ctr.packetsFromPeer.Load(),
		DroppedBandwidth: p.ctr.droppedBandwidth.Load(), DroppedPeer: p.ctr.droppedPeer.Load(),
		DroppedOverload: p.ctr.droppedOverload.Load(),
	}
}

// allow takes n bytes from the bandwidth budget, reading the clock only
// when there is a budget.
func (p *Plane) allow(n int) bool {
	return p.bandwidth == nil || p.bandwidth.Allow(n, p.now())
}
