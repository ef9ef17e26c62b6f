package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// switchStore is a store.Registry that can go down, every call then
// failing as an unreachable Redis does (Unavailable()), and come back,
// with the data it had or another store's (a Redis restarted empty).
type switchStore struct {
	mu   sync.Mutex // guards below
	reg  store.Registry
	down bool
}

func (s *switchStore) set(reg store.Registry, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reg, s.down = reg, down
}

var errRefused = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

// use is the current store, or the error of an unreachable one.
func (s *switchStore) use() (store.Registry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, &store.UnavailableError{Err: errRefused}
	}
	return s.reg, nil
}

// call runs f on the current store, or fails as an unreachable one.
func call[T any](s *switchStore, f func(store.Registry) (T, error)) (T, error) {
	reg, err := s.use()
	if err != nil {
		var zero T
		return zero, err
	}
	return f(reg)
}

// do is call for what returns only an error.
func (s *switchStore) do(f func(store.Registry) error) error {
	_, err := call(s, func(reg store.Registry) (struct{}, error) { return struct{}{}, f(reg) })
	return err
}

func (s *switchStore) Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) error {
	return s.do(func(reg store.Registry) error { return reg.Heartbeat(ctx, r, ttl) })
}

func (s *switchStore) Relay(ctx context.Context, id string) (relay.Relay, error) {
	return call(s, func(reg store.Registry) (relay.Relay, error) { return reg.Relay(ctx, id) })
}

func (s *switchStore) Relays(ctx context.Context) ([]relay.Relay, error) {
	return call(s, func(reg store.Registry) ([]relay.Relay, error) { return reg.Relays(ctx) })
}

func (s *switchStore) RelaysSince(ctx context.Context, cursor uint64) ([]relay.Relay, uint64, error) {
	reg, err := s.use()
	if err != nil {
		return nil, 0, err
	}
	return reg.RelaysSince(ctx, cursor)
}

func (s *switchStore) SetDrained(ctx context.Context, id string, drained bool) error {
	return s.do(func(reg store.Registry) error { return reg.SetDrained(ctx, id, drained) })
}

func (s *switchStore) RecordProbes(ctx context.Context, probes map[string]relay.Probe) error {
	return s.do(func(reg store.Registry) error { return reg.RecordProbes(ctx, probes) })
}

func (s *switchStore) AddMeasurements(ctx context.Context, prefix netip.Prefix, reporter string, ms []relay.Measurement) error {
	return s.do(func(reg store.Registry) error { return reg.AddMeasurements(ctx, prefix, reporter, ms) })
}

func (s *switchStore) Measurements(ctx context.Context, since time.Time) (map[netip.Prefix]map[string]relay.Aggregate, time.Time, error) {
	reg, err := s.use()
	if err != nil {
		return nil, time.Time{}, err
	}
	return reg.Measurements(ctx, since)
}

func (s *switchStore) Ping(ctx context.Context) error {
	return s.do(func(reg store.Registry) error { return reg.Ping(ctx) })
}

func (s *switchStore) Close() error { return nil } // the stores it switches between close themselves

// inOutage runs test in a synctest bubble with a running fixture whose
// store can go down (sw), its relays fra-1 and nyc-1 registered.
func inOutage(t *testing.T, cfg gateway.Config, test func(t *testing.T, f *fixture, sw *switchStore)) {
	synctest.Test(t, func(t *testing.T) {
		sw := &switchStore{}
		f := build(t, time.Now, cfg, gateway.Deps{Store: sw})
		sw.set(f.store, false)
		f.run()
		f.heartbeat(fra1())
		f.heartbeat(nyc1())
		synctest.Wait()
		test(t, f, sw)
	})
}

// wantUnavailable fails t unless err says Unavailable(), as api needs it
// to answer 503.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var u interface{ Unavailable() bool }
	if !errors.As(err, &u) || !u.Unavailable() {
		t.Errorf("%s with the store down: error = %v, want one that is Unavailable()", what, err)
	}
}

// TestStoreGrace: while the store is down, selection keeps serving the
// relays fresh at the last good refresh, long past their heartbeat TTL,
// and says so (stale, metrics); writes fail as unavailable. Past the grace
// relays expire as usual; once the store is back, all is as before.
func TestStoreGrace(t *testing.T) {
	inOutage(t, gateway.Config{StoreGrace: time.Minute}, func(t *testing.T, f *fixture, sw *switchStore) {
		sw.set(f.store, true)
		time.Sleep(2 * storetest.TTL) // fake time: the relays' heartbeats have long expired
		synctest.Wait()
		if primary, backup := f.pick(berlin); primary != "fra-1" || backup != "nyc-1" {
			t.Errorf("two TTLs into the outage: %s/%s, want fra-1/nyc-1 from the last snapshot", primary, backup)
		}
		if age, stale, serving := f.gw.SnapshotHealth(); !stale || !serving || age < 2*storetest.TTL {
			t.Errorf("SnapshotHealth() = %v, %v, %v; want stale, serving, at least %v old", age, stale, serving, 2*storetest.TTL)
		}
		if up, age := f.metric("relaygate_store_up"), f.metric("relaygate_snapshot_age_seconds"); up != 0 || age < 30 {
			t.Errorf("relaygate_store_up = %v, relaygate_snapshot_age_seconds = %v; want 0 and at least 30", up, age)
		}
		_, err := f.gw.Heartbeat(t.Context(), fra1(), storetest.TTL)
		wantUnavailable(t, "Heartbeat", err)
		wantUnavailable(t, "SetDrained", f.gw.SetDrained(t.Context(), "fra-1", true))
		_, err = f.gw.Relays(t.Context())
		wantUnavailable(t, "Relays", err)

		time.Sleep(time.Minute) // past the grace
		synctest.Wait()
		if _, err := f.gw.Pick(berlin, "", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
			t.Errorf("Pick() past the grace: error = %v, want ErrNoCandidate", err)
		}
		if _, stale, serving := f.gw.SnapshotHealth(); !stale || serving {
			t.Errorf("past the grace SnapshotHealth() says stale %v, serving %v; want stale, not serving", stale, serving)
		}

		sw.set(f.store, false)
		f.heartbeat(nyc1())
		if primary, _ := f.pick(berlin); primary != "nyc-1" {
			t.Errorf("once the store is back and nyc-1 heartbeats: primary %q, want nyc-1", primary)
		}
		time.Sleep(time.Second) // the next refresh
		synctest.Wait()
		if age, stale, serving := f.gw.SnapshotHealth(); stale || !serving || age > time.Second {
			t.Errorf("after recovery SnapshotHealth() = %v, %v, %v; want fresh", age, stale, serving)
		}
		if up := f.metric("relaygate_store_up"); up != 1 {
			t.Errorf("relaygate_store_up = %v after recovery, want 1", up)
		}
	})
}

// TestProbesLeaveSelectionDuringOutage: a relay this replica's prober
// finds down leaves selection at once although the store cannot take the
// result.
func TestProbesLeaveSelectionDuringOutage(t *testing.T) {
	inOutage(t, gateway.Config{}, func(t *testing.T, f *fixture, sw *switchStore) {
		sw.set(f.store, true)
		time.Sleep(storetest.TTL) // fake time: judged as of the last good refresh
		synctest.Wait()
		f.gw.ProbeReporterForTest(t.Context(), slog.New(slog.DiscardHandler))([]probe.Result{{RelayID: "fra-1", Health: probe.HealthDown, ProbedAt: time.Now()}})
		if primary, backup := f.pick(berlin); primary != "nyc-1" || backup != "" {
			t.Errorf("fra-1 probed down during the outage: %s/%s, want nyc-1 alone", primary, backup)
		}
	})
}

// TestStoreBackEmpty: a store that comes back without its data (a Redis
// restarted empty) does not empty selection: the relays served before
// stay for one heartbeat TTL, each until its own heartbeat brings it back
// (a drained one drained: it reasserts its mark); one that does not
// heartbeat leaves after the TTL.
func TestStoreBackEmpty(t *testing.T) {
	inOutage(t, gateway.Config{}, func(t *testing.T, f *fixture, sw *switchStore) {
		if err := f.gw.SetDrained(t.Context(), "nyc-1", true); err != nil {
			t.Fatal(err)
		}
		sw.set(f.store, true)
		time.Sleep(storetest.TTL)
		synctest.Wait()
		empty := storetest.NewMemory(t, store.MemoryConfig{Now: time.Now})
		sw.set(empty, false)
		time.Sleep(time.Second) // the next refresh reads the empty store
		synctest.Wait()
		if primary, _ := f.pick(berlin); primary != "fra-1" {
			t.Fatalf("right after the store came back empty: primary %q, want fra-1 still", primary)
		}
		reasserting := nyc1()
		reasserting.Drained = true // it heard "drained" before the outage
		if _, err := f.gw.Heartbeat(t.Context(), reasserting, storetest.TTL); err != nil {
			t.Fatal(err)
		}
		if r, err := empty.Relay(t.Context(), "nyc-1"); err != nil || !r.Drained {
			t.Errorf("nyc-1 in the new store: drained %v, %v; want its reasserted mark", r.Drained, err)
		}
		time.Sleep(storetest.TTL) // fra-1 never heartbeats again
		synctest.Wait()
		if _, err := f.gw.Pick(berlin, "", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
			t.Errorf("Pick() a TTL later: error = %v; want ErrNoCandidate (fra-1 gone, nyc-1 drained)", err)
		}
	})
}
