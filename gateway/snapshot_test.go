package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func TestSnapshotsFollowTheRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := storetest.NewClock(storetest.T0)
		reg := storetest.NewMemory(t, store.MemoryConfig{Now: clk.Now})
		snaps := testSnapshots(reg, clk.Now)
		if n := snaps.Load().Len(); n != 0 {
			t.Fatalf("before the first refresh: %d relays, want 0", n)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- snaps.Run(ctx) }()

		if err := reg.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // fake time: one refresh interval
		synctest.Wait()
		if n := snaps.Load().Len(); n != 1 {
			t.Fatalf("after one interval: %d relays, want 1", n)
		}

		// A poke refreshes at once, without waiting for the ticker.
		if err := reg.SetDrained(ctx, "fra-1", true); err != nil {
			t.Fatal(err)
		}
		snaps.Poke()
		synctest.Wait()
		if rs := snaps.Load().Relays(); len(rs) != 1 || !rs[0].Drained {
			t.Fatalf("after a poke: %+v, want fra-1 drained", rs)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil on cancel", err)
		}
	})
}

// testSnapshots is snapshots over reg with the default Config, on the clock
// now.
func testSnapshots(reg store.Registry, now func() time.Time) *snapshots {
	return newSnapshots(reg, Config{}.withDefaults(), now, nil)
}

// countingRegistry counts reads of the relays, and full ones apart. With a
// gate, reads wait until it is closed.
type countingRegistry struct {
	store.Registry
	reads atomic.Int64
	full  atomic.Int64
	gate  chan struct{}
}

func (c *countingRegistry) wait(ctx context.Context) error {
	if c.gate == nil {
		return nil
	}
	select {
	case <-c.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *countingRegistry) Relays(ctx context.Context) ([]relay.Relay, error) {
	c.reads.Add(1)
	c.full.Add(1)
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.Registry.Relays(ctx)
}

func (c *countingRegistry) RelaysSince(ctx context.Context, cursor uint64) ([]relay.Relay, uint64, error) {
	c.reads.Add(1)
	if cursor == 0 {
		c.full.Add(1)
	}
	if err := c.wait(ctx); err != nil {
		return nil, 0, err
	}
	return c.Registry.RelaysSince(ctx, cursor)
}

// TestSnapshotsRefreshIncrementally: after the first refresh, refreshes
// read only what changed, yet a drain mark shows and an expired relay
// leaves; a full read comes back once a minute.
func TestSnapshotsRefreshIncrementally(t *testing.T) {
	for name, open := range map[string]func(t *testing.T, now func() time.Time) store.Registry{
		"memory": func(t *testing.T, now func() time.Time) store.Registry {
			return storetest.NewMemory(t, store.MemoryConfig{Now: now})
		},
		"redis": func(t *testing.T, now func() time.Time) store.Registry {
			return storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: now})
		},
	} {
		t.Run(name, func(t *testing.T) {
			clk := storetest.NewClock(storetest.T0)
			reg := &countingRegistry{Registry: open(t, clk.Now)}
			ctx := t.Context()
			snaps := testSnapshots(reg, clk.Now)
			heartbeat := func(id string) {
				t.Helper()
				r := storetest.Fra1()
				r.ID, r.Draining = id, false
				if err := reg.Heartbeat(ctx, r, storetest.TTL); err != nil {
					t.Fatal(err)
				}
			}
			refresh := func(wantIDs string, wantFull int64) []relay.Relay {
				t.Helper()
				if err := snaps.Refresh(ctx); err != nil {
					t.Fatalf("Refresh() error = %v", err)
				}
				rs := snaps.Load().Relays()
				var ids []string
				for _, r := range rs {
					ids = append(ids, r.ID)
				}
				if got := strings.Join(ids, ","); got != wantIDs {
					t.Fatalf("snapshot = %q, want %q", got, wantIDs)
				}
				if got := reg.full.Load(); got != wantFull {
					t.Fatalf("%d full reads, want %d", got, wantFull)
				}
				return rs
			}
			heartbeat("a")
			heartbeat("b")
			refresh("a,b", 1)
			refresh("a,b", 1)

			clk.Advance(10 * time.Second)
			heartbeat("b")
			if err := reg.SetDrained(ctx, "b", true); err != nil {
				t.Fatal(err)
			}
			if rs := refresh("a,b", 1); rs[0].Drained || !rs[1].Drained {
				t.Fatalf("Drained = %v, %v; want false, true", rs[0].Drained, rs[1].Drained)
			}
			heartbeat("c")
			if err := snaps.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := snaps.Load().Relay("c"); !ok {
				t.Fatalf("c not in the snapshot after Sync")
			}

			clk.Advance(6 * time.Second) // a expires; nothing is written
			refresh("b,c", 1)

			clk.Advance(time.Minute) // b and c expire too; the next read is full
			heartbeat("d")
			refresh("d", 2)
			refresh("d", 2)
		})
	}
}

// TestSyncSeesTheWriteAndCoalesces: after Sync a write is in the snapshot,
// and a burst of concurrent writers shares a few refreshes. The store's
// reads wait until every writer has written, so the burst overlaps however
// fast the machine refreshes (without the gate, whether writers overlapped
// was up to the scheduler: on a fast machine without -race they did not).
func TestSyncSeesTheWriteAndCoalesces(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	reg := &countingRegistry{Registry: storetest.NewMemory(t, store.MemoryConfig{Now: clk.Now}), gate: make(chan struct{})}
	snaps := testSnapshots(reg, clk.Now)
	const n = 200
	var wg, written sync.WaitGroup
	written.Add(n)
	go func() { written.Wait(); close(reg.gate) }()
	for i := range n {
		wg.Go(func() {
			r := storetest.Fra1()
			r.ID = fmt.Sprintf("r-%d", i)
			err := reg.Heartbeat(t.Context(), r, storetest.TTL)
			written.Done()
			if err != nil {
				t.Error(err)
				return
			}
			if err := snaps.Sync(t.Context()); err != nil {
				t.Error(err)
				return
			}
			if _, ok := snaps.Load().Relay(r.ID); !ok {
				t.Errorf("%s not in the snapshot after Sync", r.ID)
			}
		})
	}
	wg.Wait()
	if got := reg.reads.Load(); got > n/10 {
		t.Errorf("%d writers caused %d reads, want them shared", n, got)
	}
	t.Logf("%d writers, %d reads", n, reg.reads.Load())
}
