package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// revocationStore is a store that keeps revocations.
type revocationStore interface {
	store.Registry
	store.Revocations
}

// countingRevocations counts the revocation reads a gateway makes.
type countingRevocations struct {
	revocationStore
	versions, lists atomic.Int64
}

func (c *countingRevocations) RevocationsVersion(ctx context.Context) (uint64, error) {
	c.versions.Add(1)
	return c.revocationStore.RevocationsVersion(ctx)
}

func (c *countingRevocations) Revocations(ctx context.Context) ([]relay.Revocation, uint64, error) {
	c.lists.Add(1)
	return c.revocationStore.Revocations(ctx)
}

// replicaOn is a gateway over st with cfg, as one replica of a fleet.
func replicaOn(t *testing.T, st store.Registry, now func() time.Time, cfg gateway.Config) *gateway.Gateway {
	t.Helper()
	cfg.ProbeOff = true
	g, err := gateway.New(cfg, gateway.Deps{Store: st, Minter: testMinter(t), Now: now, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRevocationReachesEveryReplica: a subject revoked through one
// replica is refused there before Revoke returns, and by another replica
// on the same store (memory, or one Redis) within its refresh interval,
// with no store round trip on the request path; lifting it travels the
// same way.
func TestRevocationReachesEveryReplica(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (a, b store.Registry){
		"memory": func(t *testing.T) (a, b store.Registry) {
			m := storetest.NewMemory(t, store.MemoryConfig{})
			return m, m
		},
		"redis": func(t *testing.T) (a, b store.Registry) {
			prefix := storetest.KeyPrefix(t)
			return storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix}),
				storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Replica: "b"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			sa, sb := open(t)
			a := replicaOn(t, sa, time.Now, gateway.Config{})
			const interval = 50 * time.Millisecond
			b := replicaOn(t, sb, time.Now, gateway.Config{RefreshInterval: interval})
			testenv.RunUntilCleanup(t, "b.Run()", b.Run)
			now := time.Now()
			if a.Revoked("bob", now) || b.Revoked("bob", now) {
				t.Fatal("bob is revoked before any revocation")
			}
			rev, err := a.Revoke(t.Context(), "bob", now.Add(time.Hour))
			if err != nil {
				t.Fatalf("Revoke() error = %v", err)
			}
			if !a.Revoked("bob", time.Now()) {
				t.Fatal("the replica that revoked bob still takes bob when Revoke returns")
			}
			if a.Revoked("alice", time.Now()) {
				t.Fatal("revoking bob revoked alice")
			}
			start := time.Now()
			testenv.Eventually(t, "replica b refuses bob", 10*time.Second, 10*time.Millisecond, func() error {
				if !b.Revoked("bob", time.Now()) {
					return errors.New("b takes bob")
				}
				return nil
			})
			t.Logf("replica b refused bob %v after the revocation (refresh interval %v)", time.Since(start).Round(time.Millisecond), interval)
			rs, truncated := b.RelayRevocations(time.Now())
			if len(rs) != 1 || rs[0].Pseudonym != rev.Pseudonym || rs[0].Subject != "" || truncated {
				t.Fatalf("b.RelayRevocations() = %+v, %v; want bob's pseudonym %q only, no subject", rs, truncated, rev.Pseudonym)
			}
			if err := a.Unrevoke(t.Context(), "bob"); err != nil {
				t.Fatalf("Unrevoke() error = %v", err)
			}
			if a.Revoked("bob", time.Now()) {
				t.Fatal("the replica that lifted bob's revocation still refuses bob")
			}
			testenv.Eventually(t, "replica b takes bob again", 10*time.Second, 10*time.Millisecond, func() error {
				if b.Revoked("bob", time.Now()) {
					return errors.New("b refuses bob")
				}
				return nil
			})
		})
	}
}

// TestRevocationRefreshCostsOneReadWhenUnchanged: a refresh that finds
// the version unchanged reads nothing else.
func TestRevocationRefreshCostsOneReadWhenUnchanged(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	st := &countingRevocations{revocationStore: storetest.NewMemory(t, store.MemoryConfig{Now: clk.Now})}
	g := replicaOn(t, st, clk.Now, gateway.Config{})
	if err := g.Refresh(t.Context()); err != nil { // the first read
		t.Fatal(err)
	}
	v0, l0 := st.versions.Load(), st.lists.Load()
	for range 3 {
		if err := g.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if v, l := st.versions.Load()-v0, st.lists.Load()-l0; v != 3 || l != 0 {
		t.Fatalf("3 refreshes without a change: %d version reads, %d list reads; want 3, 0", v, l)
	}
	if err := st.Revoke(t.Context(), relay.Revocation{Subject: "bob", Pseudonym: "p", Until: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := g.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := st.lists.Load() - l0; l != 1 || !g.Revoked("bob", clk.Now()) {
		t.Fatalf("a refresh after a change: %d list reads, bob revoked %v; want 1, true", l, g.Revoked("bob", clk.Now()))
	}
}

// TestRevocationLapses: a revocation ends by itself at its until, on the
// request path and in the relays' list; until must be in the future;
// lifting a lapsed revocation is not found.
func TestRevocationLapses(t *testing.T) {
	f := newFixture(t)
	until := f.clk.Now().Add(time.Hour)
	if _, err := f.gw.Revoke(t.Context(), "bob", f.clk.Now()); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Revoke(until now) error = %v, want ErrInvalid", err)
	}
	if _, err := f.gw.Revoke(t.Context(), "bob", until); err != nil {
		t.Fatal(err)
	}
	if got := f.metric("relaygate_revocations"); got != 1 {
		t.Errorf("relaygate_revocations = %v, want 1", got)
	}
	f.clk.Set(until.Add(-time.Nanosecond))
	if !f.gw.Revoked("bob", f.clk.Now()) {
		t.Fatal("bob not revoked just before until")
	}
	f.clk.Set(until)
	if f.gw.Revoked("bob", f.clk.Now()) {
		t.Fatal("bob still revoked at until")
	}
	if rs, _ := f.gw.RelayRevocations(f.clk.Now()); len(rs) != 0 {
		t.Fatalf("RelayRevocations() after until = %+v, want none", rs)
	}
	if got := f.metric("relaygate_revocations"); got != 0 {
		t.Errorf("relaygate_revocations after until = %v, want 0", got)
	}
	var nf interface{ NotFound() bool }
	if err := f.gw.Unrevoke(t.Context(), "bob"); !errors.As(err, &nf) || !nf.NotFound() {
		t.Fatalf("Unrevoke(lapsed) error = %v, want not found", err)
	}
}

// TestRelayRevocationsAreBounded: relays hear the newest
// MaxRelayRevocations revocations, pseudonyms only, and that the list is
// truncated.
func TestRelayRevocationsAreBounded(t *testing.T) {
	f := newFixture(t)
	var last relay.Revocation
	for i := range gateway.MaxRelayRevocations + 1 {
		f.clk.Advance(time.Millisecond)
		rev, err := f.gw.Revoke(t.Context(), fmt.Sprintf("user-%d", i), f.clk.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		last = rev
	}
	rs, truncated := f.gw.RelayRevocations(f.clk.Now())
	if len(rs) != gateway.MaxRelayRevocations || !truncated {
		t.Fatalf("RelayRevocations() = %d, truncated %v; want %d, true", len(rs), truncated, gateway.MaxRelayRevocations)
	}
	if rs[0].Pseudonym != last.Pseudonym {
		t.Errorf("RelayRevocations()[0] is not the newest revocation")
	}
	for _, r := range rs {
		if r.Subject != "" {
			t.Fatalf("RelayRevocations() carries a subject")
		}
	}
}

// BenchmarkRevoked is the credentials path's revocation check: none
// revoked, and 10,000 revoked (the subject asked for is not).
func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("revoked=%d", n), func(b *testing.B) {
			clk := storetest.NewClock(storetest.T0)
			st := storetest.NewMemory(b, store.MemoryConfig{Now: clk.Now})
			for i := range n {
				if err := st.Revoke(b.Context(), relay.Revocation{Subject: fmt.Sprintf("user-%d", i), Pseudonym: "p", Until: clk.Now().Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
			}
			g, err := gateway.New(gateway.Config{ProbeOff: true}, gateway.Deps{Store: st, Minter: testMinter(b), Now: clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Refresh(b.Context()); err != nil {
				b.Fatal(err)
			}
			now := clk.Now()
			b.ReportAllocs()
			for b.Loop() {
				if g.Revoked("alice@example.com", now) {
					b.Fatal("alice revoked")
				}
			}
		})
	}
}
