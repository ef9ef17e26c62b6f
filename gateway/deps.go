package gateway

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// Deps are what a Gateway works with. Store and Minter are required.
type Deps struct {
	// Store is the registry: relays, drain marks, probe views and client
	// measurements. The Gateway does not close it.
	Store store.Registry
	// Usage keeps relays' per-user usage reports (Memory and Redis stores
	// are one); nil: usage is not kept and its methods give ErrNoUsage.
	Usage store.Usage
	// Minter mints TURN credentials; its pseudonyms name users in usage.
	Minter *turncred.Minter
	// Log receives lifecycle lines and degraded-but-self-healing warnings,
	// each with a "component" key; default: discard.
	Log *slog.Logger
	// Metrics is where the Gateway registers its own metrics; default:
	// nowhere (they are kept but not exported).
	Metrics prometheus.Registerer
	// Now is the clock for freshness, hysteresis and measurement ages, and
	// the prober's unless Config.Probe.Now is set; default time.Now. The
	// refresh and probe loops wait on the time package's timers, so Now
	// must agree with them whenever Run runs (testing/synctest's does).
	Now func() time.Time
	// Rand returns uniform random bits, for exploration; default
	// math/rand/v2.Uint64.
	Rand func() uint64
	// Countries places a relay that names no country (in its heartbeat
	// or static entry) by its addresses; geoip.DB implements it. Nil:
	// such relays stay of unknown country.
	Countries Countries
}

// Countries tells the country of an address.
type Countries interface {
	Country(netip.Addr) (relay.Country, bool)
}

func (d Deps) withDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Uint64
	}
	return d
}

func (d Deps) validate() error {
	switch {
	case d.Store == nil:
		return fmt.Errorf("%w: Deps.Store", ErrDeps)
	case d.Minter == nil:
		return fmt.Errorf("%w: Deps.Minter", ErrDeps)
	}
	return nil
}
