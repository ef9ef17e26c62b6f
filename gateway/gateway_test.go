package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

func TestNewRequiresStoreAndMinter(t *testing.T) {
	mem := storetest.NewMemory(t, store.MemoryConfig{})
	tests := []struct {
		name string
		deps gateway.Deps
		want string
	}{
		{name: "no store", deps: gateway.Deps{Minter: testMinter(t)}, want: "Deps.Store"},
		{name: "no minter", deps: gateway.Deps{Store: mem}, want: "Deps.Minter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.New(gateway.Config{}, tt.deps)
			if !errors.Is(err, gateway.ErrDeps) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want ErrDeps naming %s", err, tt.want)
			}
		})
	}
}

// TestNewRegistersMetrics: the Gateway's metrics are exported where it is
// told, and a name already taken there is an error, not a panic.
func TestNewRegistersMetrics(t *testing.T) {
	f := newFixture(t)
	if got := f.metric("relaygate_measurements_dropped_total"); got != 0 {
		t.Errorf("relaygate_measurements_dropped_total = %v, want 0", got)
	}
	_, err := gateway.New(gateway.Config{}, gateway.Deps{Store: f.store, Minter: testMinter(t), Metrics: f.metrics})
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("second New() on one registry: error = %v, want AlreadyRegisteredError", err)
	}
}

func TestRunStopsOnCancelAndRunsOnce(t *testing.T) {
	inBubble(t, gateway.Config{}, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.gw.Run(ctx) }()
		synctest.Wait()
		if err := f.gw.Run(ctx); !errors.Is(err, gateway.ErrReused) {
			t.Errorf("second Run() = %v, want ErrReused", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil once ctx ends", err)
		}
	})
}

// TestRunFollowsTheStore: what another replica writes to the shared store
// is selectable here within one refresh interval.
func TestRunFollowsTheStore(t *testing.T) {
	inBubble(t, gateway.Config{RefreshInterval: 2 * time.Second}, func(t *testing.T, f *fixture) {
		f.run()
		synctest.Wait() // the first refresh has found nothing
		if err := f.store.Heartbeat(t.Context(), fra1(), storetest.TTL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // fake time: within the interval
		synctest.Wait()
		if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
			t.Fatalf("Pick() before the next refresh: error = %v, want ErrNoCandidate", err)
		}
		time.Sleep(time.Second) // fake time: the interval is over
		synctest.Wait()
		if primary, _ := f.pick(berlin); primary != "fra-1" {
			t.Errorf("after one interval the primary is %q, want fra-1", primary)
		}
	})
}

// TestRefreshSeesDirectWrites: without Run, Refresh is how a write to the
// store that bypassed the Gateway becomes selectable.
func TestRefreshSeesDirectWrites(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Heartbeat(t.Context(), fra1(), storetest.TTL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
		t.Fatalf("Pick() before Refresh: error = %v, want ErrNoCandidate", err)
	}
	if err := f.gw.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	if primary, _ := f.pick(berlin); primary != "fra-1" {
		t.Errorf("after Refresh the primary is %q, want fra-1", primary)
	}
	f.store.Close()
	if err := f.gw.Refresh(t.Context()); err == nil {
		t.Error("Refresh() on a closed store: error = nil")
	}
	if primary, _ := f.pick(berlin); primary != "fra-1" {
		t.Errorf("after a failed Refresh the primary is %q, want fra-1 from the last snapshot", primary)
	}
}
