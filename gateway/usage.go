package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// RecordUsage counts relay relayID's usage report in the store, once per
// (epoch, seq) however often the relay sends it. The relay's ID is the
// node token's subject (api checks), so a relay reports only its own.
func (g *Gateway) RecordUsage(ctx context.Context, relayID string, rep relay.UsageReport) error {
	if g.usage == nil {
		return ErrNoUsage
	}
	if err := g.usage.AddUsage(ctx, relayID, rep); err != nil {
		g.metrics.usageReports.WithLabelValues(usageFailed).Inc()
		return fmt.Errorf("gateway: record usage of %q: %w", relayID, err)
	}
	g.metrics.usageReports.WithLabelValues(usageCounted).Inc()
	return nil
}

// UsageOf returns what relays carried for the token subject in [from,
// to), per hour: the usage of its pseudonym under the gateway's pseudonym
// key, as minted into its TURN usernames.
func (g *Gateway) UsageOf(ctx context.Context, subject string, from, to time.Time) ([]relay.UsagePeriod, error) {
	if g.usage == nil {
		return nil, ErrNoUsage
	}
	ps, err := g.usage.UsageOf(ctx, []string{g.minter.Pseudonym(subject)}, from, to)
	if err != nil {
		return nil, fmt.Errorf("gateway: usage: %w", err)
	}
	return ps, nil
}

// RelayUsage returns what each relay carried in [from, to), by relay ID.
func (g *Gateway) RelayUsage(ctx context.Context, from, to time.Time) ([]relay.UsageOnRelay, error) {
	if g.usage == nil {
		return nil, ErrNoUsage
	}
	rs, err := g.usage.RelayUsage(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("gateway: relay usage: %w", err)
	}
	return rs, nil
}
