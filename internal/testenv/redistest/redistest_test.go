package redistest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv/redistest"
)

func TestCluster(t *testing.T) {
	start := time.Now()
	c := redistest.StartCluster(t, 3)
	t.Logf("cluster of 3 up in %v", time.Since(start))
	cl := c.Client(t)
	for i := range 100 { // keys land on every master
		if err := cl.Set(t.Context(), fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the cluster: %v", err)
		}
	}
	for _, m := range c.Masters {
		if n, err := m.Client().DBSize(t.Context()).Result(); err != nil || n == 0 {
			t.Errorf("master %s holds %d keys, %v; want some", m.Addr, n, err)
		}
	}
}

func TestSentinelFailover(t *testing.T) {
	start := time.Now()
	s := redistest.StartSentinel(t, redistest.SentinelConfig{})
	t.Logf("sentinel set up in %v", time.Since(start))
	if err := s.Master.Client().Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Sync(t)
	old := s.Master.Addr
	if err := s.Master.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	now := s.WaitFailover(t, old, 30*time.Second)
	t.Logf("failover to %s in %v", now.Addr, time.Since(killed))
	if v, err := now.Client().Get(t.Context(), "k").Result(); err != nil || v != "v" {
		t.Errorf("GET k on the new master = %q, %v; want v", v, err)
	}
}
