package testenv

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestProc(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	start := func(script string) *Proc {
		t.Helper()
		return StartProcUntilCleanup(t, "child", exec.CommandContext(t.Context(), "sh", "-c", script))
	}
	var sleeper *Proc
	t.Run("killed when its test ends", func(t *testing.T) {
		sleeper = StartProcUntilCleanup(t, "sleeper", exec.CommandContext(context.Background(), "sh", "-c", "exec sleep 60"))
	})
	if !sleeper.Exited() {
		t.Errorf("the child of a finished test still runs")
	}
	t.Run("stops on SIGTERM", func(t *testing.T) {
		p := start(`echo '{"msg":"ready","n":"1"}'; exec sleep 60`)
		if m, err := p.WaitLog("ready", 10*time.Second); err != nil || m["n"] != "1" {
			t.Fatalf("WaitLog(ready) = %v, %v", m, err)
		}
		if err := p.Stop(10 * time.Second); err != nil || !p.Exited() {
			t.Errorf("Stop = %v, exited %v; want a stop within the grace", err, p.Exited())
		}
	})
	t.Run("killed when it ignores SIGTERM", func(t *testing.T) {
		p := start(`trap '' TERM; echo '{"msg":"ready"}'; while :; do sleep 1; done`)
		if _, err := p.WaitLog("ready", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(100 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not stop") {
			t.Errorf("Stop = %v, want it to say the child did not stop", err)
		}
		if !p.Exited() || p.Err() == nil {
			t.Errorf("exited %v with %v, want killed", p.Exited(), p.Err())
		}
	})
	t.Run("exits before logging", func(t *testing.T) {
		p := start(`echo some output; exit 3`)
		_, err := p.WaitLog("ready", 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "child exited (exit status 3) before logging") || !strings.Contains(err.Error(), "some output") {
			t.Errorf("WaitLog = %v, want the exit and the output", err)
		}
	})
}

func TestStartProcStopAtCleanup(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	var p *Proc
	t.Run("stopped with SIGTERM when its test ends", func(t *testing.T) {
		// The child says it got SIGTERM, so its exit is told apart from a kill.
		p = StartProcStopAtCleanup(t, "child", exec.CommandContext(context.WithoutCancel(t.Context()), "sh", "-c",
			`trap 'echo got TERM; exit 0' TERM; echo '{"msg":"ready","addr":"127.0.0.1:1","n":2}'; while :; do sleep 0.1; done`))
		if got := WaitLogField(t, p, "ready", "addr"); got != "127.0.0.1:1" {
			t.Errorf("WaitLogField(ready, addr) = %q, want 127.0.0.1:1", got)
		}
		if got := WaitLogField(t, p, "ready", "n"); got != "" {
			t.Errorf("WaitLogField(ready, n) = %q, want \"\" for a number", got)
		}
	})
	if !p.Exited() || p.Err() != nil || !strings.Contains(p.Logs.String(), "got TERM") {
		t.Errorf("after its test: exited %v with %v, logs %q; want a clean exit on SIGTERM", p.Exited(), p.Err(), p.Logs)
	}
}

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nc\n", 2); got != "[... 1 lines]\nb\nc" {
		t.Errorf("Tail(3 lines, 2) = %q", got)
	}
	if got := Tail("a\nb", 5); got != "a\nb" {
		t.Errorf("Tail(2 lines, 5) = %q", got)
	}
}
