package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestToken(t *testing.T) {
	s := Token(t, "secret-0123456789", "alice", time.Hour)
	var c jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return []byte("secret-0123456789"), nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.ExpiresAt == nil || time.Until(c.ExpiresAt.Time) < 59*time.Minute {
		t.Errorf("claims = %+v, want sub alice valid for an hour", c)
	}
}

func TestFreePorts(t *testing.T) {
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", FreeUDPPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	u.Close()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", FreeTCPPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestBufferWaitLog(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		fmt.Fprintln(&b, "not json")
		fmt.Fprintln(&b, `{"msg":"other"}`)
		fmt.Fprintln(&b, `{"msg":"relaygate listening","addr":"127.0.0.1:1234"}`)
	})
	addr, err := GatewayAddr(&b, nil, 5*time.Second)
	wg.Wait()
	if err != nil || addr != "127.0.0.1:1234" {
		t.Errorf("GatewayAddr = %q, %v; logs:\n%s", addr, err, b.String())
	}
	if _, err := WaitLog(&b, "never", nil, 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("WaitLog(never) = %v, want ErrTimeout", err)
	}
	exited := make(chan struct{})
	close(exited)
	if _, err := WaitLog(&b, "never", exited, time.Minute); !errors.Is(err, ErrExited) {
		t.Errorf("WaitLog(never, exited) = %v, want ErrExited", err)
	}
}

func TestBuildCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a command")
	}
	dir := t.TempDir()
	bins, err := BuildCommands(dir, false, "github.com/relaygate/relaygate/cmd/relaynode")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "relaynode"); bins["relaynode"] != want || len(bins) != 1 {
		t.Fatalf("bins = %v, want relaynode at %s", bins, want)
	}
	if _, err := os.Stat(bins["relaynode"]); err != nil {
		t.Error(err)
	}
}

func TestProc(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	start := func(script string) *Proc {
		t.Helper()
		p, err := StartProc("child", exec.CommandContext(t.Context(), "sh", "-c", script))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Kill(); err != nil {
				t.Error(err)
			}
		})
		return p
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

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nc\n", 2); got != "[... 1 lines]\nb\nc" {
		t.Errorf("Tail(3 lines, 2) = %q", got)
	}
	if got := Tail("a\nb", 5); got != "a\nb" {
		t.Errorf("Tail(2 lines, 5) = %q", got)
	}
}

func TestWaitDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tests := []struct {
			name   string
			result error
			send   bool
			want   string
		}{
			{name: "nil in time", send: true},
			{name: "an error", result: errors.New("boom"), send: true, want: "run() = boom, want nil"},
			{name: "nothing", want: "run() did not return within 1s"},
		}
		for _, tt := range tests {
			done := make(chan error, 1)
			if tt.send {
				done <- tt.result
			}
			f := &errorRecorder{}
			WaitDone(f, "run()", done, time.Second)
			if !strings.Contains(f.msg, tt.want) || (tt.want == "") != (f.msg == "") {
				t.Errorf("%s: WaitDone reported %q, want %q", tt.name, f.msg, tt.want)
			}
		}
	})
}

// errorRecorder is a testing.TB whose Errorf records the message.
type errorRecorder struct {
	testing.TB
	msg string
}

func (*errorRecorder) Helper() {}

func (e *errorRecorder) Errorf(format string, args ...any) { e.msg = fmt.Sprintf(format, args...) }
