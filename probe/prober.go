package probe

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// timeoutSlack lets the scheduler wake up to this late for a timeout, so a
// burst of dead relays shares wake-ups; it only delays declaring a miss.
const timeoutSlack = 10 * time.Millisecond

// sendAhead lets the scheduler send probes due within this much of now in
// the same wake-up: at 10k relays and 5s that is 20 probes per wake-up
// instead of one, and a probe 10 ms early does not matter to anyone.
const sendAhead = 10 * time.Millisecond

// reportEvery is how often changed results are handed to report: batching
// keeps the store's write rate independent of the probe rate, and once a
// second is fresh enough for ranking.
const reportEvery = time.Second

// maxRefreshEvery bounds how long a new relay waits before the prober learns
// of it.
const maxRefreshEvery = time.Second

// txID is a STUN transaction ID.
type txID = [stun.TransactionIDSize]byte

// relay is the prober's state for one target. id, addr, fam, hash and phase
// never change: a relay whose address changes is replaced by a new relay.
type relay struct {
	id    string
	addr  netip.AddrPort
	fam   int // 0 IPv4, 1 IPv6
	hash  uint64
	phase time.Duration

	// The fields below are guarded by Prober.mu.
	gen     uint64 // bumped on reschedule; older heap entries are stale
	seen    uint64 // refresh epoch in which the targets func last listed it
	removed bool
	left    int // Measure: probes still to send; -1 under Run
	changed bool
	st      stats
	logged  Health // the health last logged; "" before the first
}

// pending is an in-flight transaction.
type pending struct {
	r      *relay
	addr   netip.AddrPort
	sentAt time.Time
}

// A Prober probes a changing set of relays until its Run returns. Its methods
// are safe for concurrent use.
type Prober struct {
	cfg     Config
	targets func() []Target
	report  func([]Result)
	log     *slog.Logger
	limit   logLimiter
	ran     atomic.Bool
	wg      sync.WaitGroup // socket readers
	measure bool           // set by Measure: fixed targets, finite probes
	gap     time.Duration  // Measure: spacing of one target's probes
	idle    chan struct{}  // Measure: signalled when the last transaction resolves

	mu sync.Mutex
	// guards below
	relays      map[string]*relay
	inflight    map[txID]pending
	probes      eventHeap
	timeouts    deadlineQueue
	changed     []*relay      // relays with changed set, awaiting report
	urgent      chan struct{} // a relay went down: report without waiting for the tick
	socks       [2][]*sock
	listenRetry [2]time.Time // no new listen attempt for the family before
	epoch       uint64
}

// New returns a Prober that will probe the relays targets lists and hand
// batches of changed results to report. targets is called from Run's
// scheduler every second (or every Interval if shorter) and should return
// quickly, from memory. report is called about once a second from its own
// goroutine with the results changed since the last call, sorted by RelayID;
// while it runs, changes coalesce into the next batch. report may be nil
// (Results still works). A nil log discards. New starts nothing: call Run.
func New(cfg Config, targets func() []Target, report func([]Result), log *slog.Logger) (*Prober, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if targets == nil {
		return nil, ErrNoTargets
	}
	return newProber(cfg, targets, report, log), nil
}

func newProber(cfg Config, targets func() []Target, report func([]Result), log *slog.Logger) *Prober {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Prober{
		cfg: cfg, targets: targets, report: report, log: log,
		relays:   map[string]*relay{},
		inflight: map[txID]pending{},
		idle:     make(chan struct{}, 1),
		urgent:   make(chan struct{}, 1),
	}
}

// Run probes until ctx is done, then closes its sockets, waits for its
// goroutines and returns nil. It may be called once.
func (p *Prober) Run(ctx context.Context) error {
	if !p.ran.CompareAndSwap(false, true) {
		return ErrReused
	}
	p.log.Info("prober started", "interval", p.cfg.Interval.String(), "timeout", p.cfg.Timeout.String())
	var reporter sync.WaitGroup
	if p.report != nil {
		reporter.Go(func() { p.reportLoop(ctx, reportEvery) })
	}
	p.loop(ctx, true)
	p.shutdown()
	reporter.Wait()
	p.log.Info("prober stopped")
	return nil
}

// Results returns the current view of every relay that has answered or been
// declared down, sorted by RelayID.
func (p *Prober) Results() []Result {
	p.mu.Lock()
	out := make([]Result, 0, len(p.relays))
	for _, r := range p.relays {
		if r.st.known {
			out = append(out, r.st.result(r.id, r.addr))
		}
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b Result) int { return cmp.Compare(a.RelayID, b.RelayID) })
	return out
}

// loop is the scheduler: it sends due probes, expires timeouts and, under
// Run, refreshes the targets. It returns when ctx is done or, under Measure,
// when every probe has been sent and resolved.
func (p *Prober) loop(ctx context.Context, refresh bool) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	refreshEvery := min(p.cfg.Interval, maxRefreshEvery)
	var (
		nextRefresh time.Time
		batch       []*relay
		msg         stun.Message
	)
	for {
		now := p.cfg.Now()
		if refresh && !now.Before(nextRefresh) {
			p.refresh(p.targets(), now)
			nextRefresh = p.cfg.Now().Add(refreshEvery) // from after the call: a slow targets func cannot make refreshes back to back
		}
		batch = p.due(now, batch[:0])
		for _, r := range batch {
			p.send(&msg, r)
		}
		clear(batch)
		wake, done := p.nextWake()
		if done {
			return
		}
		if refresh && (wake.IsZero() || nextRefresh.Before(wake)) {
			wake = nextRefresh
		}
		timer.Reset(wake.Sub(p.cfg.Now()))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.idle:
		}
	}
}

// refresh reconciles the relays with the targets func's latest list: new
// relays are scheduled at their phase, relays no longer listed are forgotten,
// a relay whose address changed starts over.
func (p *Prober) refresh(targets []Target, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch++
	for _, t := range targets {
		addr := netip.AddrPortFrom(t.Addr.Addr().Unmap(), t.Addr.Port())
		if !addr.IsValid() || addr.Port() == 0 || addr.Addr().IsUnspecified() {
			p.limit.warn(p.log, now, "target", "relay has no probe address", "relay_id", t.RelayID, "addr", t.Addr.String())
			continue
		}
		r := p.relays[t.RelayID]
		if r != nil && r.seen == p.epoch {
			p.limit.warn(p.log, now, "duplicate", "relay listed twice; first address kept", "relay_id", t.RelayID)
			continue
		}
		if r == nil || r.addr != addr {
			if r != nil {
				r.removed = true
			}
			r = newRelay(t.RelayID, addr, &p.cfg)
			p.relays[t.RelayID] = r
			p.probes.push(probeEvent{at: slotAfter(now, p.cfg.Interval, r.phase), r: r})
		}
		r.seen = p.epoch
	}
	for id, r := range p.relays {
		if r.seen != p.epoch {
			r.removed = true
			delete(p.relays, id)
		}
	}
}

// spread maps a relay's hash onto [0, span), its fixed place in a round of
// that length. span must be positive.
func spread(h uint64, span time.Duration) time.Duration {
	return time.Duration(h % uint64(span)) //nolint:gosec // G115: span > 0, and the remainder is below it
}

func newRelay(id string, addr netip.AddrPort, c *Config) *relay {
	h := hashID(id)
	r := &relay{id: id, addr: addr, hash: h, phase: spread(h, c.Interval), left: -1, st: newStats(c.Window)}
	if addr.Addr().Is6() {
		r.fam = 1
	}
	return r
}

// due expires the transactions whose deadline has passed and returns the
// relays whose probe is due, rescheduling each.
func (p *Prober) due(now time.Time, batch []*relay) []*relay {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.timeouts.len() > 0 && !p.timeouts.front().at.After(now) {
		d := p.timeouts.pop()
		pd, ok := p.inflight[d.tx]
		if !ok {
			continue // answered
		}
		delete(p.inflight, d.tx)
		r := pd.r
		if r.removed {
			continue
		}
		p.resolve(r, sample{lost: true}, d.at)
		if r.left < 0 && p.cfg.Retry >= 0 && r.st.health != HealthDown {
			r.gen++
			p.probes.push(probeEvent{at: d.at.Add(p.cfg.Retry), r: r, gen: r.gen})
		}
	}
	horizon := now.Add(sendAhead)
	if p.measure {
		horizon = now // the caller chose the gap between probes
	}
	for len(p.probes) > 0 && !p.probes[0].at.After(horizon) {
		ev := p.probes.pop()
		r := ev.r
		if r.removed || ev.gen != r.gen {
			continue
		}
		batch = append(batch, r)
		if r.left >= 0 { // Measure
			r.left--
			if r.left > 0 {
				p.probes.push(probeEvent{at: ev.at.Add(p.gap), r: r, gen: r.gen})
			}
			continue
		}
		next := slotAfter(ev.at, p.cfg.Interval, r.phase)
		if next.Before(now) { // fell behind: skip missed slots rather than burst
			next = slotAfter(now, p.cfg.Interval, r.phase)
		}
		p.probes.push(probeEvent{at: next, r: r, gen: r.gen})
	}
	return batch
}

// nextWake returns when the scheduler must next run (zero: nothing pending)
// and, for Measure, whether all work is done.
func (p *Prober) nextWake() (wake time.Time, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.timeouts.len() > 0 {
		if _, ok := p.inflight[p.timeouts.front().tx]; ok {
			break
		}
		p.timeouts.pop() // answered: no need to wake for it
	}
	if len(p.probes) > 0 {
		wake = p.probes[0].at
	}
	if p.timeouts.len() > 0 {
		if t := p.timeouts.front().at.Add(timeoutSlack); wake.IsZero() || t.Before(wake) {
			wake = t
		}
	}
	return wake, p.measure && wake.IsZero() && len(p.inflight) == 0
}

// send starts one Binding transaction to r.
func (p *Prober) send(msg *stun.Message, r *relay) {
	tx := stun.NewTransactionID()
	if err := msg.Build(stun.NewTransactionIDSetter(tx), stun.BindingRequest, stun.Fingerprint); err != nil {
		p.limit.warn(p.log, p.cfg.Now(), "build", "build binding request", "err", err)
		return
	}
	p.mu.Lock()
	now := p.cfg.Now()
	s := p.sockFor(r, now)
	if s == nil || r.removed {
		if s == nil {
			p.resolve(r, sample{lost: true}, now) // no socket: unreachable from here
		}
		p.mu.Unlock()
		return
	}
	p.inflight[tx] = pending{r: r, addr: r.addr, sentAt: now}
	p.timeouts.push(deadline{at: now.Add(p.cfg.Timeout), tx: tx})
	p.mu.Unlock()
	if err := s.write(msg.Raw, r.addr); err != nil {
		// The transaction times out like a lost one.
		p.limit.warn(p.log, now, "send", "send probe", "relay_id", r.id, "addr", r.addr.String(), "err", err)
	}
}

// resolve records one answered or lost probe of r. Called with p.mu held.
func (p *Prober) resolve(r *relay, smp sample, at time.Time) {
	before := r.st.health
	r.st.record(smp, at, &p.cfg)
	if !r.changed {
		r.changed = true
		p.changed = append(p.changed, r)
	}
	if r.st.health == HealthDown && before != HealthDown {
		// A relay going down must leave selections now, not at the next
		// batch: wake the reporter.
		select {
		case p.urgent <- struct{}{}:
		default:
		}
	}
}

// reportLoop hands changed results to report every period, and at once when
// a relay goes down. A slow report delays only this goroutine; changes
// meanwhile coalesce into the next batch.
func (p *Prober) reportLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.urgent:
		}
		if batch := p.takeChanged(); len(batch) > 0 {
			p.report(batch)
		}
	}
}

// takeChanged returns the results changed since the last call, sorted by
// RelayID, and logs each relay whose health they change.
func (p *Prober) takeChanged() []Result {
	type transition struct {
		id       string
		from, to Health
	}
	var moved []transition
	p.mu.Lock()
	out := make([]Result, 0, len(p.changed))
	for _, r := range p.changed {
		r.changed = false
		if !r.removed && r.st.known {
			out = append(out, r.st.result(r.id, r.addr))
			if r.st.health != r.logged {
				moved = append(moved, transition{r.id, r.logged, r.st.health})
				r.logged = r.st.health
			}
		}
	}
	clear(p.changed)
	p.changed = p.changed[:0]
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b Result) int { return cmp.Compare(a.RelayID, b.RelayID) })
	slices.SortFunc(moved, func(a, b transition) int { return cmp.Compare(a.id, b.id) })
	for _, m := range moved {
		p.logHealth(m.id, m.from, m.to)
	}
	return out
}

// logHealth logs a relay's change of health, once per change and at most
// once per report batch, so a flapping relay cannot flood the log: a
// relay's first health at Debug (every relay has one after start-up),
// going down at Warn, any other change at Info.
func (p *Prober) logHealth(id string, from, to Health) {
	level := slog.LevelInfo
	switch {
	case from == "":
		level = slog.LevelDebug
	case to == HealthDown:
		level = slog.LevelWarn
	}
	p.log.Log(context.Background(), level, "relay health changed", "relay_id", id,
		"from", cmp.Or(string(from), "unknown"), "to", string(to))
}
