package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
)

// Buffer collects output, say a child's stderr, and is safe for concurrent
// use. Every Write wakes those waiting on a Snapshot's channel. The zero
// value is ready to use.
type Buffer struct {
	mu   sync.Mutex // guards b and wake
	b    bytes.Buffer
	wake chan struct{}
}

// Write appends p and wakes the waiters.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.b.Write(p)
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	return n, err
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Snapshot returns what was written so far and a channel closed on the
// next Write.
func (b *Buffer) Snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return b.b.String(), b.wake
}

// LogLine finds the first JSON log line in logs whose "msg" is msg.
func LogLine(logs, msg string) (map[string]any, bool) {
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			return m, true
		}
	}
	return nil, false
}

// Errors of WaitLog.
var (
	ErrExited  = errors.New("exited before logging it")
	ErrTimeout = errors.New("not logged in time")
)

// WaitLog waits until logs hold a JSON line whose "msg" is msg and returns
// it. It returns ErrExited when exited is closed first (after a last look at
// logs) and ErrTimeout when timeout passes; a nil exited never closes.
func WaitLog(logs *Buffer, msg string, exited <-chan struct{}, timeout time.Duration) (map[string]any, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s, wake := logs.Snapshot()
		if m, ok := LogLine(s, msg); ok {
			return m, nil
		}
		select {
		case <-wake:
		case <-exited:
			if m, ok := LogLine(logs.String(), msg); ok {
				return m, nil
			}
			return nil, ErrExited
		case <-deadline.C:
			return nil, ErrTimeout
		}
	}
}

// ListeningMsg is what relaygate logs, with its address in "addr", once it
// accepts connections.
const ListeningMsg = "relaygate listening"

// GatewayAddr waits for relaygate's ListeningMsg in logs and returns its
// address (host:port), as WaitLog does.
func GatewayAddr(logs *Buffer, exited <-chan struct{}, timeout time.Duration) (string, error) {
	m, err := WaitLog(logs, ListeningMsg, exited, timeout)
	if err != nil {
		return "", err
	}
	addr, _ := m["addr"].(string)
	return addr, nil
}
