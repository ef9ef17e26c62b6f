package api

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/relaygate/relaygate/relay"
)

// maxCachedRelays bounds urlCache: past it the cache starts over. A
// registry holds thousands of relays; relay ids that come and go (relays
// autoscaled under fresh names) would otherwise pile up.
const maxCachedRelays = 1 << 16

// urlCache remembers each relay's TURN URIs for all transports, the list
// almost every credentials answer carries twice (in the relay's choice
// and in ice_servers). A relay's URIs change only when its addresses,
// ports or hostname do, and an entry is only used while those are what the
// request's relay says; formatting them (addresses, ports, strings) was a
// microsecond per answer. Safe for concurrent use; the lists it returns are
// shared and must not be modified.
type urlCache struct {
	m sync.Map // relay id → *relayURLSet
	n atomic.Int64
}

type relayURLSet struct {
	addrs    []netip.Addr
	ports    relay.Ports
	hostname string
	urls     []string
}

// urls returns relayURLs(r, want), from the cache when want is empty (all
// transports).
func (c *urlCache) urls(r relay.Relay, want []relay.Transport) []string {
	if len(want) > 0 {
		return relayURLs(r, want)
	}
	if v, ok := c.m.Load(r.ID); ok {
		if e := v.(*relayURLSet); e.ports == r.Ports && e.hostname == r.Hostname && slices.Equal(e.addrs, r.Addresses) {
			return e.urls
		}
	}
	e := &relayURLSet{addrs: slices.Clone(r.Addresses), ports: r.Ports, hostname: r.Hostname, urls: relayURLs(r, nil)}
	if _, loaded := c.m.Swap(r.ID, e); !loaded && c.n.Add(1) > maxCachedRelays {
		c.m.Clear()
		c.n.Store(0)
	}
	return e.urls
}
