package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func newMemory(t *testing.T, now func() time.Time) store.Registry {
	m := store.NewMemory(store.MemoryConfig{Now: now})
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMemory(t *testing.T) {
	storetest.Run(t, newMemory)
}

func TestMemoryDefaultsToWallClock(t *testing.T) {
	m := store.NewMemory(store.MemoryConfig{})
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
	m := store.NewMemory(store.MemoryConfig{Now: clock.Now})
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
