package testenv

import (
	"fmt"
	"testing"
	"time"
)

// Poll calls cond every interval (> 0) until it returns nil. Once timeout has
// passed without that it returns an error carrying cond's last error, which
// should say what cond saw. cond runs at least once, in the caller's
// goroutine. Poll needs no testing.T, so TestMain or a sync.Once can call
// it; tests call Eventually.
//
// It is for waiting on another process or the network, where no event
// tells the test that the state it waits for has come. Code that runs in
// the test's process with an injected clock belongs in testing/synctest.
func Poll(timeout, interval time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", timeout, err)
		}
		<-tick.C
	}
}

// Eventually waits, as Poll does, until cond returns nil, and fails t with
// t.Fatalf when timeout passes first, naming what was awaited (say "relay
// registered") and what cond last saw. cond may itself fail t.
func Eventually(t testing.TB, what string, timeout, interval time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, interval, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
