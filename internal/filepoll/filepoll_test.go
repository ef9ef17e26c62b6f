package filepoll

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestConfig(t *testing.T) {
	if got := (Config{Path: "f"}).WithDefault(7 * time.Second); got.PollInterval != 7*time.Second {
		t.Errorf("WithDefault on zero interval = %v, want 7s", got.PollInterval)
	}
	if got := (Config{Path: "f", PollInterval: time.Second}).WithDefault(7 * time.Second); got.PollInterval != time.Second {
		t.Errorf("WithDefault on set interval = %v, want 1s", got.PollInterval)
	}
	if err := (Config{Path: "f", PollInterval: time.Second}).Validate(); err != nil {
		t.Errorf("Validate() on a good config = %v", err)
	}
	err := Config{PollInterval: -time.Second}.Validate()
	if want := "path is empty\npoll interval -1s is negative"; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var polls []time.Duration
		start := time.Now()
		errStop := errors.New("stop")
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, time.Second, func() error {
				polls = append(polls, time.Since(start))
				if len(polls) == 3 {
					return errStop
				}
				return nil
			})
		}()
		if err := <-done; !errors.Is(err, errStop) {
			t.Fatalf("Run() = %v, want poll's error", err)
		}
		if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; len(polls) != 3 || polls[0] != want[0] || polls[2] != want[2] {
			t.Errorf("polls at %v, want %v", polls, want)
		}

		go func() { done <- Run(ctx, time.Second, func() error { return nil }) }()
		time.Sleep(1500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() after cancel = %v, want nil", err)
		}
	})
}

func TestFailures(t *testing.T) {
	var f Failures
	a, b := errors.New("a"), errors.New("b")
	for i, step := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{a, true},
		{a, false}, // persists: logged once
		{b, true},
		{b, false},
		{nil, false}, // read again: forgotten
		{b, true},
	} {
		if got := f.News(step.err); got != step.want {
			t.Errorf("step %d: News(%v) = %v, want %v", i, step.err, got, step.want)
		}
	}
}
