package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proc is a child process a test started, say relaygate or relaynode
// built by BuildCommands. Its output goes to Logs unless the caller
// directed it elsewhere.
type Proc struct {
	Name string // names it in errors
	Cmd  *exec.Cmd
	Logs *Buffer
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// StartProc starts cmd and waits for it in the background. The child's
// stdout and stderr go to Logs where cmd leaves them nil, and its output is
// cut off 5s after it exits (WaitDelay) unless cmd says otherwise. It needs
// no testing.T, so TestMain or a sync.Once can call it.
func StartProc(name string, cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{Name: name, Cmd: cmd, Logs: &Buffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Logs
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Logs
	}
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// StartProcUntilCleanup starts cmd as StartProc does and kills the child
// when the test ends, showing its logs if the test failed. It fails t
// when cmd does not start.
func StartProcUntilCleanup(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	return startUntilCleanup(t, name, cmd, (*Proc).Kill, 0)
}

// StartProcStopAtCleanup starts cmd as StartProc does and, when the test
// ends, stops the child as a service manager would: SIGTERM, then SIGKILL
// 10s later (Stop), failing t when it came to that. It shows the last 60
// lines of the child's logs if the test failed, and fails t when cmd does
// not start. Use it for children whose clean shutdown is part of the test.
func StartProcStopAtCleanup(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	return startUntilCleanup(t, name, cmd, func(p *Proc) error { return p.Stop(10 * time.Second) }, 60)
}

// startUntilCleanup starts cmd as StartProc does and ends the child with
// end when the test ends, showing the last tail lines of its logs (all of
// them for 0) if the test failed. It fails t when cmd does not start.
func startUntilCleanup(t testing.TB, name string, cmd *exec.Cmd, end func(*Proc) error, tail int) *Proc {
	t.Helper()
	p, err := StartProc(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := end(p); err != nil {
			t.Error(err)
		}
		if !t.Failed() {
			return
		}
		if tail == 0 {
			t.Logf("%s logs:\n%s", name, p.Logs)
		} else {
			t.Logf("--- %s (pid %d) output:\n%s", name, cmd.Process.Pid, Tail(p.Logs.String(), tail))
		}
	})
	return p
}

// WaitLogField waits up to 30s until p has logged a JSON line whose "msg"
// is msg, and returns that line's field as a string ("" when it has none
// or it is not a string). It fails t when p exits first or the time
// passes.
func WaitLogField(t testing.TB, p *Proc, msg, field string) string {
	t.Helper()
	m, err := p.WaitLog(msg, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m[field].(string)
	return v
}

// Done is closed once the child has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is Wait's result: nil for a clean exit. Call it once Done is closed.
func (p *Proc) Err() error { return p.err }

// Exited reports whether the child has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits up to grace for the child to exit; past
// that it kills the child and returns an error saying so. A child that has
// exited already is left alone.
func (p *Proc) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	err := p.Cmd.Process.Signal(syscall.SIGTERM)
	if errors.Is(err, os.ErrProcessDone) {
		<-p.done
		return nil
	}
	if err == nil {
		select {
		case <-p.done:
			return nil
		case <-time.After(grace):
		}
	}
	return errors.Join(fmt.Errorf("%s did not stop within %v of SIGTERM; killed it", p.Name, grace), err, p.Kill())
}

// Kill sends SIGKILL, as a crash would stop the child, and waits for it to
// exit. A child that has exited already is left alone.
func (p *Proc) Kill() error {
	if err := p.Cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.Name, err)
	}
	<-p.done
	return nil
}

// WaitLog waits, as the package's WaitLog does, until the child has logged
// a JSON line whose "msg" is msg, and returns it. Its errors name the child
// and end with the last lines of its logs.
func (p *Proc) WaitLog(msg string, timeout time.Duration) (map[string]any, error) {
	m, err := WaitLog(p.Logs, msg, p.done, timeout)
	switch {
	case errors.Is(err, ErrExited):
		return nil, fmt.Errorf("%s exited (%s) before logging %q:\n%s", p.Name, p.Cmd.ProcessState, msg, Tail(p.Logs.String(), 40))
	case errors.Is(err, ErrTimeout):
		return nil, fmt.Errorf("%s did not log %q within %v:\n%s", p.Name, msg, timeout, Tail(p.Logs.String(), 40))
	}
	return m, err
}

// Tail returns the last n lines of s, for failure messages.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
