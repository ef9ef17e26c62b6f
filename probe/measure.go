package probe

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Measure probes each target rounds times, one probe every gap (targets are
// staggered across the first gap), waits for the last answers or timeouts and
// returns one result per target, sorted by RelayID. A target that never
// answered is reported down whatever Config.DownAfter says. Interval and
// Retry do not apply; the window holds at least rounds probes. If ctx ends
// first, Measure returns what it has with ctx's error.
func Measure(ctx context.Context, cfg Config, targets []Target, rounds int, gap time.Duration) ([]Result, error) {
	if rounds < 1 || rounds > maxWindow {
		return nil, fmt.Errorf("%w: %d not in 1..%d", ErrRounds, rounds, maxWindow)
	}
	if gap < 0 {
		return nil, fmt.Errorf("%w: gap %v must not be negative", ErrConfig, gap)
	}
	cfg = cfg.withDefaults()
	cfg.Window = max(cfg.Window, rounds)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := newProber(cfg, nil, nil, nil)
	p.measure, p.gap = true, gap
	now := cfg.Now()
	for _, t := range targets {
		addr := netip.AddrPortFrom(t.Addr.Addr().Unmap(), t.Addr.Port())
		if !addr.IsValid() || addr.Port() == 0 || addr.Addr().IsUnspecified() {
			return nil, fmt.Errorf("%w: relay %q address %v", ErrTarget, t.RelayID, t.Addr)
		}
		if _, dup := p.relays[t.RelayID]; dup {
			return nil, fmt.Errorf("%w: relay %q listed twice", ErrTarget, t.RelayID)
		}
		r := newRelay(t.RelayID, addr, &cfg)
		r.left = rounds
		var offset time.Duration
		if gap > 0 {
			offset = spread(r.hash, gap)
		}
		p.relays[t.RelayID] = r
		p.probes.push(probeEvent{at: now.Add(offset), r: r})
	}
	p.loop(ctx, false)
	p.shutdown()

	p.mu.Lock()
	out := make([]Result, 0, len(p.relays))
	for _, r := range p.relays {
		res := r.st.result(r.id, r.addr)
		if res.Received == 0 {
			res.Health = HealthDown
		}
		out = append(out, res)
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b Result) int { return cmp.Compare(a.RelayID, b.RelayID) })
	return out, ctx.Err()
}
