package testenv

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

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
