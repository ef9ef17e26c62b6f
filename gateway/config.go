package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
)

// Config configures a Gateway. Its zero value works: no exploration,
// probing with probe's defaults.
type Config struct {
	// ExploreShare is the share of answers whose backup is another site's
	// relay picked at random, so that client measurements keep covering
	// relays that are rarely the best; default 0 (off), range [0, 1).
	ExploreShare float64

	// RefreshInterval is the time between two snapshot refreshes, and so
	// how soon this replica sees another replica's writes; default 1s.
	RefreshInterval time.Duration

	// StoreGrace is how long selection keeps serving the last snapshot
	// while the store is unreachable, counted from the last good refresh:
	// relays fresh then stay eligible (unless this replica's probes find
	// them dead), so credentials keep coming through an outage of the
	// store. Past it relays expire by their heartbeat TTL as usual, and
	// selection answers relay.ErrNoCandidate. Default 5m: long enough to
	// ride out a Redis restart or failover, short enough that a fleet
	// that changed meanwhile is not served from a stale picture for long.
	// Negative: no grace (relays leave at their TTL, as without an outage).
	StoreGrace time.Duration

	// Aggregate says how client measurements are trusted and aged. It must
	// match the store's; zero fields take relay.AggregateConfig's defaults.
	Aggregate relay.AggregateConfig

	// Probe configures the STUN prober; zero fields take probe's defaults,
	// and a nil Probe.Now is Deps.Now.
	Probe probe.Config

	// ProbeOff turns STUN probing off: relays are then judged by their
	// heartbeats alone, and Probe is ignored.
	ProbeOff bool

	// HysteresisPrefixes is how many client prefixes' last primary are
	// remembered per generation (two generations are kept, see primaries);
	// default 100,000. At some 100 bytes each, the default holds at most
	// about 20 MB.
	HysteresisPrefixes int

	// MeasurementQueue is how many client reports may wait to be folded
	// into the store; default 4096. Reports beyond it are dropped (and
	// counted): a measurement is a hint, and an overloaded store must not
	// back up into request handling.
	MeasurementQueue int

	// AllowRelayNetworks are networks outside the public Internet
	// (loopback, private, link-local and metadata, CGNAT, multicast,
	// reserved, benchmarking or documentation ranges and their IPv6
	// forms: package netpolicy's classes) in which relays may
	// nevertheless have addresses: a loopback lab sets 127.0.0.0/8, a
	// private deployment its own ranges. Default none: a heartbeat naming
	// such an address is refused with an AddressError, and the prober
	// never sends to one.
	AllowRelayNetworks []netip.Prefix

	// Jurisdiction is the operator's policy on where relays may be:
	// selection never answers a relay in a country it does not permit,
	// whatever a token or request asks (they can only narrow it; see
	// PickWithin). With any policy in force a relay of unknown country
	// (it named none and Deps.Countries could not place it) is never
	// chosen. Default: the zero policy, every relay.
	Jurisdiction relay.Jurisdiction
}

func (c Config) withDefaults() Config {
	c.RefreshInterval = cmp.Or(c.RefreshInterval, time.Second)
	c.StoreGrace = cmp.Or(c.StoreGrace, 5*time.Minute)
	c.Aggregate = c.Aggregate.WithDefaults()
	c.HysteresisPrefixes = cmp.Or(c.HysteresisPrefixes, 100_000)
	c.MeasurementQueue = cmp.Or(c.MeasurementQueue, 4096)
	return c
}

func (c Config) validate() error {
	var errs []error
	if !(c.ExploreShare >= 0 && c.ExploreShare < 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("explore share %v out of range [0, 1)", c.ExploreShare))
	}
	if c.RefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("refresh interval %v must be positive", c.RefreshInterval))
	}
	if c.Aggregate.HalfLife < 0 {
		errs = append(errs, fmt.Errorf("aggregate half-life %v must be positive", c.Aggregate.HalfLife))
	}
	if c.Aggregate.MinReporters < 0 || c.Aggregate.MinReporters > relay.MaxReporters {
		errs = append(errs, fmt.Errorf("aggregate min reporters %d out of range 1..%d", c.Aggregate.MinReporters, relay.MaxReporters))
	}
	if c.Aggregate.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("aggregate max age %v must be positive", c.Aggregate.MaxAge))
	}
	if c.HysteresisPrefixes < 0 {
		errs = append(errs, fmt.Errorf("hysteresis prefixes %d must be positive", c.HysteresisPrefixes))
	}
	if c.MeasurementQueue < 0 {
		errs = append(errs, fmt.Errorf("measurement queue %d must be positive", c.MeasurementQueue))
	}
	if _, err := netpolicy.New(c.AllowRelayNetworks, nil); err != nil {
		errs = append(errs, fmt.Errorf("allowed relay networks: %w", err))
	}
	if !c.ProbeOff {
		// probe validates its own settings; a Prober is only a few maps
		// until it runs.
		if _, err := probe.New(c.Probe, noTargets, nil, nil); err != nil {
			errs = append(errs, err) // names itself: "probe: invalid config: …"
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

func noTargets() []probe.Target { return nil }
