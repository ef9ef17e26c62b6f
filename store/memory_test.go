package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func newMemory(t *testing.T, cfg storetest.Config) store.Registry {
	return storetest.NewMemory(t, store.MemoryConfig{Now: cfg.Now, MaxPrefixes: cfg.MaxPrefixes})
}

func TestMemory(t *testing.T) {
	storetest.Run(t, newMemory)
}

func TestMemoryUsage(t *testing.T) {
	storetest.RunUsage(t, func(t *testing.T, cfg storetest.Config) store.Usage {
		return storetest.NewMemory(t, store.MemoryConfig{Now: cfg.Now})
	})
}

func TestMemoryDefaultsToWallClock(t *testing.T) {
	m := storetest.NewMemory(t, store.MemoryConfig{})
	before := time.Now()
	if err := m.Heartbeat(t.Context(), storetest.Fra1(), time.Minute); err != nil {
		t.Fatalf("Heartbeat() error = %v", err)
	}
	r, err := m.Relay(t.Context(), "fra-1")
	if err != nil {
		t.Fatalf("Relay() error = %v", err)
	}
	if r.LastSeen.Before(before.Add(-time.Second)) || r.LastSeen.After(time.Now().Add(time.Second)) {
		t.Errorf("LastSeen = %v, want about %v", r.LastSeen, before)
	}
}

func TestMemoryCollectsExpiredRelays(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	m := storetest.NewMemory(t, store.MemoryConfig{Now: clock.Now})
	ctx := t.Context()
	for i := range 100 {
		r := storetest.Fra1()
		r.ID = fmt.Sprintf("old-%03d", i)
		if err := m.Heartbeat(ctx, r, storetest.TTL); err != nil {
			t.Fatalf("Heartbeat() error = %v", err)
		}
	}
	clock.Advance(storetest.TTL - time.Nanosecond)
	if err := m.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
		t.Fatalf("Heartbeat() error = %v", err)
	}
	if got := m.LenForTest(); got != 101 {
		t.Fatalf("before expiry: held relays = %d, want 101", got)
	}
	clock.Advance(time.Nanosecond)
	if err := m.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
		t.Fatalf("Heartbeat() error = %v", err)
	}
	if got := m.LenForTest(); got != 1 {
		t.Fatalf("after expiry and a heartbeat: held relays = %d, want 1", got)
	}
	clock.Advance(time.Hour)
	if err := m.SetDrained(ctx, "fra-1", true); !store.IsNotFound(err) {
		t.Fatalf("SetDrained(expired) error = %v, want not found", err)
	}
	if got := m.LenForTest(); got != 0 {
		t.Fatalf("after expiry and SetDrained: held relays = %d, want 0", got)
	}
}

func TestMemoryCollectsProbes(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	m := storetest.NewMemory(t, store.MemoryConfig{Now: clock.Now})
	ctx := t.Context()
	if err := m.Heartbeat(ctx, storetest.Fra1(), time.Hour); err != nil {
		t.Fatal(err)
	}
	p := relay.Probe{Health: relay.HealthUp, ProbedAt: storetest.T0}
	if err := m.RecordProbes(ctx, map[string]relay.Probe{"fra-1": p, "ghost": p}); err != nil {
		t.Fatal(err)
	}
	if n := m.ProbesLenForTest(); n != 1 {
		t.Fatalf("after probing a relay that is not registered: %d views, want 1", n)
	}
	clock.Advance(store.ProbeMaxAge + time.Second) // fra-1's view ages out
	if err := m.RecordProbes(ctx, map[string]relay.Probe{"ghost": {ProbedAt: clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	if n := m.ProbesLenForTest(); n != 0 {
		t.Fatalf("after the max age: %d views, want 0", n)
	}
}

func TestMemoryBoundsPrefixes(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	m := storetest.NewMemory(t, store.MemoryConfig{Now: clock.Now, MaxPrefixes: 100})
	ctx := t.Context()
	ms := []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}
	for i := range 10_000 { // a few prefixes measured often, and many once
		if err := m.AddMeasurements(ctx, clientPrefix(i%7*1000+i%3), "r", ms); err != nil {
			t.Fatal(err)
		}
		if err := m.AddMeasurements(ctx, clientPrefix(10_000+i), "r", ms); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	prefixes, log := m.PrefixesLenForTest()
	if prefixes != 100 || log > 2*100+1024 {
		t.Fatalf("prefixes, log entries = %d, %d; want 100 and a log within %d", prefixes, log, 2*100+1024)
	}
	clock.Advance(relay.AggregateConfig{}.WithDefaults().MaxAge + time.Nanosecond)
	if err := m.AddMeasurements(ctx, clientPrefix(0), "r", ms); err != nil {
		t.Fatal(err)
	}
	if prefixes, log := m.PrefixesLenForTest(); prefixes != 1 || log > 1024 {
		t.Fatalf("after the max age: prefixes, log entries = %d, %d; want 1 and a short log", prefixes, log)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name    string
		replica string
		agg     relay.AggregateConfig
		max     int
	}{
		{name: "replica with a space", replica: "gw 1"},
		{name: "replica with a hash tag", replica: "gw{1}"},
		{name: "replica with a colon", replica: "gw:1"},
		{name: "replica too long", replica: strings.Repeat("g", 65)},
		{name: "negative half-life", agg: relay.AggregateConfig{HalfLife: -time.Minute}},
		{name: "negative min reporters", agg: relay.AggregateConfig{MinReporters: -1}},
		{name: "more min reporters than are kept", agg: relay.AggregateConfig{MinReporters: relay.MaxReporters + 1}},
		{name: "max age under a second", agg: relay.AggregateConfig{MaxAge: time.Millisecond}},
		{name: "negative max prefixes", max: -1},
		{name: "max prefixes too large", max: 100_000_001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := store.NewMemory(store.MemoryConfig{Replica: tt.replica, Aggregate: tt.agg, MaxPrefixes: tt.max}); !errors.Is(err, store.ErrConfig) {
				t.Errorf("NewMemory() error = %v, want ErrConfig", err)
			}
			c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
			defer c.Close()
			if _, err := store.NewRedis(c, store.RedisConfig{Replica: tt.replica, Aggregate: tt.agg, MaxPrefixes: tt.max, PrivacyKey: storetest.PrivacyKey}); !errors.Is(err, store.ErrConfig) {
				t.Errorf("NewRedis() error = %v, want ErrConfig", err)
			}
		})
	}
	for _, replica := range []string{"", "default", "relaygate-7d9f8c6b5-x2x9z", "gw_1.eu", strings.Repeat("g", 64)} {
		if _, err := store.NewMemory(store.MemoryConfig{Replica: replica}); err != nil {
			t.Errorf("NewMemory(replica %q) error = %v, want nil", replica, err)
		}
	}
}
