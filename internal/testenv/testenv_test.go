package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
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
