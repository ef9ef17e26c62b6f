// Package storetest is the conformance suite every store.Registry must pass.
// Run it from the implementation's tests with a constructor that builds a
// fresh, empty store as the Config it is given says:
//
//	func TestMemory(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, cfg storetest.Config) store.Registry {
//			m, err := store.NewMemory(store.MemoryConfig{Now: cfg.Now, MaxPrefixes: cfg.MaxPrefixes})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return m
//		})
//	}
//
// The suite covers relays, drain marks, this replica's probe views and
// client-prefix measurements. What only shows across several stores on one
// backend (replicas' separate probe views, gateways adding concurrently) or
// in a backend's storage (garbage collection) belongs to the
// implementation's own tests.
//
// The suite drives time with a fake Clock, never sleeps, and closes nothing
// it did not open: the constructor registers the store's cleanup itself.
//
// The package also serves tests of whatever uses a store: Clock, Fra1,
// NewMemory, and OpenRedis, a store on the test Redis
// (RELAYGATE_TEST_REDIS_URL) under a key prefix of the test's own that is
// deleted when the test ends.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
)

// T0 is the suite's starting time. It has a sub-millisecond part on purpose:
// stores must keep timestamps to the nanosecond.
var T0 = time.Date(2026, 11, 25, 12, 0, 0, 123_456_789, time.UTC)

// TTL is the heartbeat TTL the suite uses.
const TTL = 15 * time.Second

// Fra1 returns a relay with every field set (country, IPv4 and IPv6 addresses, all
// three ports, capacity, load, hostname, version), for tests of any store.
func Fra1() relay.Relay {
	return relay.Relay{
		ID:        "fra-1",
		Region:    "eu-central",
		Site:      "fra",
		Location:  relay.Location{Latitude: 50.11, Longitude: 8.68},
		Country:   mustCountry("DE"),
		Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
		Hostname:  "fra-1.relay.example",
		Ports:     relay.Ports{relay.UDP: 3478, relay.TCP: 3478, relay.TLS: 5349},
		Capacity:  relay.Capacity{Allocations: 10000, BandwidthBPS: 1_000_000_000},
		Load:      relay.Load{Allocations: 120, BandwidthBPS: 32_000_000},
		Draining:  true,
		Version:   "0.1.0",
	}
}

func mustCountry(code string) relay.Country {
	c, err := relay.ParseCountry(code)
	if err != nil {
		panic(err) // a constant above
	}
	return c
}

// smallRelay returns a small relay with that ID, for tests that need many.
func smallRelay(id string) relay.Relay {
	return relay.Relay{
		ID:        id,
		Region:    "eu-west",
		Site:      "ams",
		Location:  relay.Location{Latitude: 52.37, Longitude: 4.9},
		Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.7")},
		Ports:     relay.Ports{relay.UDP: 3478},
	}
}

// stamped is r as a store must return it after a heartbeat at now.
func stamped(r relay.Relay, now time.Time, drained bool) relay.Relay {
	r = r.Clone()
	r.Drained = drained
	r.LastSeen = now
	r.ExpiresAt = now.Add(TTL)
	return r
}

// env is one subtest's store and clock.
type env struct {
	t     *testing.T
	clock *Clock
	s     store.Registry
}

func (e *env) heartbeat(r relay.Relay) {
	e.t.Helper()
	if err := e.s.Heartbeat(e.t.Context(), r, TTL); err != nil {
		e.t.Fatalf("Heartbeat(%q) error = %v", r.ID, err)
	}
}

func (e *env) relay(id string) relay.Relay {
	e.t.Helper()
	r, err := e.s.Relay(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("Relay(%q) error = %v", id, err)
	}
	return r
}

func (e *env) relays() []relay.Relay {
	e.t.Helper()
	rs, err := e.s.Relays(e.t.Context())
	if err != nil {
		e.t.Fatalf("Relays() error = %v", err)
	}
	return rs
}

func (e *env) setDrained(id string, drained bool) {
	e.t.Helper()
	if err := e.s.SetDrained(e.t.Context(), id, drained); err != nil {
		e.t.Fatalf("SetDrained(%q, %v) error = %v", id, drained, err)
	}
}

func (e *env) wantNotFound(id string) {
	e.t.Helper()
	_, err := e.s.Relay(e.t.Context(), id)
	if !store.IsNotFound(err) {
		e.t.Fatalf("Relay(%q) error = %v, want not found", id, err)
	}
	var nf interface{ NotFound() bool }
	if !errors.As(err, &nf) || !nf.NotFound() {
		e.t.Fatalf("Relay(%q) error = %v does not satisfy NotFound() bool", id, err)
	}
}

func (e *env) wantIDs(want ...string) {
	e.t.Helper()
	rs := e.relays()
	got := make([]string, len(rs))
	for i := range rs {
		got[i] = rs[i].ID
	}
	if !slices.Equal(got, want) {
		e.t.Fatalf("Relays() IDs = %q, want %q", got, want)
	}
}

// wantRelay fails unless got equals want, times compared with Equal.
func wantRelay(t *testing.T, what string, got, want relay.Relay) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

func diff(got, want relay.Relay) string {
	if !got.LastSeen.Equal(want.LastSeen) {
		return fmt.Sprintf("LastSeen = %v, want %v", got.LastSeen, want.LastSeen)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		return fmt.Sprintf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
	got.LastSeen, got.ExpiresAt, want.LastSeen, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(got.Addresses) == 0 && len(want.Addresses) == 0 {
		got.Addresses, want.Addresses = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("got %+v,\nwant %+v", got, want)
	}
	return ""
}

// Config is what the suite asks of a new store.
type Config struct {
	Now         func() time.Time // the store's clock
	MaxPrefixes int              // the store's MaxPrefixes; 0 means its default
}

// Run runs the conformance suite. newStore must return a new, empty store
// as cfg says, with default aggregate settings, and register its cleanup
// with t.
func Run(t *testing.T, newStore func(t *testing.T, cfg Config) store.Registry) {
	t.Helper()
	tests := []test{
		{name: "heartbeat reads back every field", run: func(e *env) {
			e.heartbeat(Fra1())
			wantRelay(e.t, "Relay", e.relay("fra-1"), stamped(Fra1(), T0, false))
			rs := e.relays()
			if len(rs) != 1 {
				e.t.Fatalf("Relays() = %d relays, want 1", len(rs))
			}
			wantRelay(e.t, "Relays()[0]", rs[0], stamped(Fra1(), T0, false))
		}},
		{name: "heartbeat with few fields reads back", run: func(e *env) {
			r := relay.Relay{ID: "bare"}
			e.heartbeat(r)
			wantRelay(e.t, "Relay", e.relay("bare"), stamped(r, T0, false))
		}},
		{name: "stamps last seen and expiry from the store clock", run: func(e *env) {
			r := Fra1()
			r.LastSeen = T0.Add(-time.Hour) // a relay's own idea of time is ignored
			r.ExpiresAt = T0.Add(time.Hour)
			e.clock.Advance(3 * time.Second)
			e.heartbeat(r)
			got := e.relay("fra-1")
			if want := T0.Add(3 * time.Second); !got.LastSeen.Equal(want) || !got.ExpiresAt.Equal(want.Add(TTL)) {
				e.t.Fatalf("LastSeen, ExpiresAt = %v, %v, want %v, %v", got.LastSeen, got.ExpiresAt, want, want.Add(TTL))
			}
		}},
		{name: "re-heartbeat updates fields and extends expiry", run: func(e *env) {
			e.heartbeat(Fra1())
			e.clock.Advance(10 * time.Second)
			r := Fra1()
			r.Load = relay.Load{Allocations: 9000, BandwidthBPS: 900_000_000}
			r.Addresses = []netip.Addr{netip.MustParseAddr("2001:db8::6")}
			r.Draining = false
			r.Version = "0.2.0"
			r.Country = mustCountry("AT") // a relay that moved, or was corrected
			e.heartbeat(r)
			now := T0.Add(10 * time.Second)
			wantRelay(e.t, "Relay after second heartbeat", e.relay("fra-1"), stamped(r, now, false))
			e.clock.Advance(TTL - time.Nanosecond) // past the first expiry, before the second
			wantRelay(e.t, "Relay after first TTL", e.relay("fra-1"), stamped(r, now, false))
		}},
		{name: "fresh just before ttl, gone at and after it", run: func(e *env) {
			e.heartbeat(Fra1())
			e.clock.Set(T0.Add(TTL - time.Nanosecond))
			e.relay("fra-1")
			e.wantIDs("fra-1")
			e.clock.Set(T0.Add(TTL))
			e.wantNotFound("fra-1")
			e.wantIDs()
			e.clock.Set(T0.Add(TTL + time.Nanosecond))
			e.wantNotFound("fra-1")
			e.wantIDs()
		}},
		{name: "relays are sorted by id without expired ones", run: func(e *env) {
			for _, id := range []string{"nyc-1", "ams-2", "fra-1"} {
				e.heartbeat(smallRelay(id))
			}
			e.clock.Advance(10 * time.Second)
			for _, id := range []string{"sin-1", "ams-1"} {
				e.heartbeat(smallRelay(id))
			}
			e.heartbeat(smallRelay("fra-1"))
			e.wantIDs("ams-1", "ams-2", "fra-1", "nyc-1", "sin-1")
			e.clock.Advance(5 * time.Second) // the first round's nyc-1 and ams-2 expire
			e.wantIDs("ams-1", "fra-1", "sin-1")
			e.wantNotFound("nyc-1")
		}},
		{name: "empty registry has no relays", run: func(e *env) {
			if rs := e.relays(); len(rs) != 0 {
				e.t.Fatalf("Relays() = %d relays, want 0", len(rs))
			}
			e.wantNotFound("fra-1")
		}},
		{name: "drain mark is set and cleared", run: func(e *env) {
			e.heartbeat(Fra1())
			e.setDrained("fra-1", true)
			if !e.relay("fra-1").Drained || !e.relays()[0].Drained {
				e.t.Fatalf("Drained = false after SetDrained(true)")
			}
			e.setDrained("fra-1", true) // idempotent
			e.setDrained("fra-1", false)
			if e.relay("fra-1").Drained || e.relays()[0].Drained {
				e.t.Fatalf("Drained = true after SetDrained(false)")
			}
			e.setDrained("fra-1", false)
		}},
		{name: "drain mark belongs to one relay", run: func(e *env) {
			e.heartbeat(smallRelay("a"))
			e.heartbeat(smallRelay("b"))
			e.setDrained("b", true)
			rs := e.relays()
			if rs[0].Drained || !rs[1].Drained {
				e.t.Fatalf("Drained = %v, %v, want false, true", rs[0].Drained, rs[1].Drained)
			}
		}},
		{name: "drain mark survives heartbeats", run: func(e *env) {
			e.heartbeat(Fra1())
			e.setDrained("fra-1", true)
			e.clock.Advance(5 * time.Second)
			e.heartbeat(Fra1())
			wantRelay(e.t, "Relay", e.relay("fra-1"), stamped(Fra1(), T0.Add(5*time.Second), true))
		}},
		{name: "drain mark survives expiry and return", run: func(e *env) {
			e.heartbeat(Fra1())
			e.setDrained("fra-1", true)
			e.clock.Advance(TTL + time.Minute)
			e.heartbeat(smallRelay("other")) // lets a store garbage-collect fra-1
			e.wantNotFound("fra-1")
			e.heartbeat(Fra1())
			if !e.relay("fra-1").Drained {
				e.t.Fatalf("Drained = false after expiry and return, want true")
			}
		}},
		{name: "set drained on unknown or expired relay is not found", run: func(e *env) {
			for _, drained := range []bool{true, false} {
				if err := e.s.SetDrained(e.t.Context(), "ghost", drained); !store.IsNotFound(err) {
					e.t.Fatalf("SetDrained(unknown, %v) error = %v, want not found", drained, err)
				}
			}
			e.heartbeat(Fra1())
			e.clock.Advance(TTL)
			if err := e.s.SetDrained(e.t.Context(), "fra-1", true); !store.IsNotFound(err) {
				e.t.Fatalf("SetDrained(expired) error = %v, want not found", err)
			}
			e.heartbeat(Fra1())
			if e.relay("fra-1").Drained {
				e.t.Fatalf("failed SetDrained left a drain mark")
			}
		}},
		{name: "relay on unknown or expired id is not found", run: func(e *env) {
			e.wantNotFound("ghost")
			e.heartbeat(Fra1())
			e.clock.Advance(time.Hour)
			e.wantNotFound("fra-1")
			e.heartbeat(smallRelay("other"))
			e.wantNotFound("fra-1")
		}},
		{name: "returned relays do not alias the store", run: func(e *env) {
			r := Fra1()
			e.heartbeat(r)
			r.Addresses[0] = netip.MustParseAddr("192.0.2.99")
			got := e.relay("fra-1")
			got.Addresses[1] = netip.MustParseAddr("192.0.2.98")
			e.relays()[0].Addresses[0] = netip.MustParseAddr("192.0.2.97")
			wantRelay(e.t, "Relay", e.relay("fra-1"), stamped(Fra1(), T0, false))
		}},
		{name: "invalid heartbeats are rejected", run: func(e *env) {
			for _, c := range []struct {
				id  string
				ttl time.Duration
			}{{"", TTL}, {"fra-1", 0}, {"fra-1", -time.Second}} {
				r := Fra1()
				r.ID = c.id
				if err := e.s.Heartbeat(e.t.Context(), r, c.ttl); !errors.Is(err, store.ErrInvalid) {
					e.t.Errorf("Heartbeat(id %q, ttl %v) error = %v, want ErrInvalid", c.id, c.ttl, err)
				}
			}
			e.wantIDs()
		}},
		{name: "concurrent heartbeats lose nothing", run: func(e *env) {
			const workers, perWorker, rounds = 8, 25, 3
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for round := range rounds {
						for i := range perWorker {
							r := smallRelay(fmt.Sprintf("w%02d-r%02d", w, i))
							r.Load.Allocations = int64(round)
							if err := e.s.Heartbeat(e.t.Context(), r, TTL); err != nil {
								e.t.Errorf("Heartbeat(%q) error = %v", r.ID, err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			if e.t.Failed() {
				return
			}
			rs := e.relays()
			if len(rs) != workers*perWorker {
				e.t.Fatalf("Relays() = %d relays, want %d", len(rs), workers*perWorker)
			}
			for i := range rs {
				if rs[i].Load.Allocations != rounds-1 {
					e.t.Fatalf("%s Load.Allocations = %d, want %d (the last round)", rs[i].ID, rs[i].Load.Allocations, rounds-1)
				}
			}
		}},
		{name: "cancelled context fails", run: func(e *env) {
			ctx, cancel := context.WithCancel(e.t.Context())
			cancel()
			if err := e.s.Heartbeat(ctx, Fra1(), TTL); !errors.Is(err, context.Canceled) {
				e.t.Fatalf("Heartbeat(cancelled) error = %v, want context.Canceled", err)
			}
			if _, err := e.s.Relays(ctx); !errors.Is(err, context.Canceled) {
				e.t.Fatalf("Relays(cancelled) error = %v, want context.Canceled", err)
			}
			if err := e.s.RecordProbes(ctx, map[string]relay.Probe{"fra-1": upProbe(T0)}); !errors.Is(err, context.Canceled) {
				e.t.Fatalf("RecordProbes(cancelled) error = %v, want context.Canceled", err)
			}
			if err := e.s.AddMeasurements(ctx, prefixA, reporter, measure("fra-1", 20)); !errors.Is(err, context.Canceled) {
				e.t.Fatalf("AddMeasurements(cancelled) error = %v, want context.Canceled", err)
			}
			if _, _, err := e.s.Measurements(ctx, time.Time{}); !errors.Is(err, context.Canceled) {
				e.t.Fatalf("Measurements(cancelled) error = %v, want context.Canceled", err)
			}
		}},
		{name: "ping works until close", run: func(e *env) {
			if err := e.s.Ping(e.t.Context()); err != nil {
				e.t.Fatalf("Ping() error = %v", err)
			}
			if err := e.s.Close(); err != nil {
				e.t.Fatalf("Close() error = %v", err)
			}
			if err := e.s.Ping(e.t.Context()); !errors.Is(err, store.ErrClosed) {
				e.t.Fatalf("Ping() after Close error = %v, want ErrClosed", err)
			}
			if _, err := e.s.Relays(e.t.Context()); !errors.Is(err, store.ErrClosed) {
				e.t.Fatalf("Relays() after Close error = %v, want ErrClosed", err)
			}
			if err := e.s.RecordProbes(e.t.Context(), map[string]relay.Probe{"fra-1": upProbe(T0)}); !errors.Is(err, store.ErrClosed) {
				e.t.Fatalf("RecordProbes() after Close error = %v, want ErrClosed", err)
			}
			if err := e.s.AddMeasurements(e.t.Context(), prefixA, reporter, measure("fra-1", 20)); !errors.Is(err, store.ErrClosed) {
				e.t.Fatalf("AddMeasurements() after Close error = %v, want ErrClosed", err)
			}
			if _, _, err := e.s.Measurements(e.t.Context(), time.Time{}); !errors.Is(err, store.ErrClosed) {
				e.t.Fatalf("Measurements() after Close error = %v, want ErrClosed", err)
			}
			if err := e.s.Close(); err != nil {
				e.t.Fatalf("second Close() error = %v, want nil", err)
			}
		}},
	}
	tests = append(tests, reassertTests...)
	tests = append(tests, probeTests...)
	tests = append(tests, sinceTests...)
	tests = append(tests, measurementTests...)
	tests = append(tests, revocationTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(T0)
			cfg := Config{Now: clock.Now, MaxPrefixes: tt.maxPrefixes}
			tt.run(&env{t: t, clock: clock, s: newStore(t, cfg)})
		})
	}
}

// test is one subtest of the suite.
type test struct {
	name        string
	maxPrefixes int // the store's MaxPrefixes; 0: its default
	run         func(e *env)
}
