package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

// reply is a Redis error reply, as go-redis returns one.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

func TestRedisUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{name: "connection refused", err: refused, want: true},
		{name: "connection dropped", err: io.EOF, want: true},
		{name: "our deadline", err: fmt.Errorf("wrapped: %w", context.DeadlineExceeded), want: true},
		{name: "pool timeout", err: redis.ErrPoolTimeout, want: true},
		{name: "loading its data", err: reply("LOADING Redis is loading the dataset in memory"), want: true},
		{name: "failing over", err: reply("MASTERDOWN Link with MASTER is down"), want: true},
		{name: "read-only replica", err: reply("READONLY You can't write against a read only replica."), want: true},
		{name: "cluster down", err: reply("CLUSTERDOWN The cluster is down"), want: true},
		{name: "caller left", err: context.Canceled, want: false},
		{name: "refused command", err: reply("ERR unknown command 'FOO'"), want: false},
		{name: "cross-slot", err: redis.ErrCrossSlot, want: false},
	} {
		if got := redisUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: redisUnavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestRedisDownIsUnavailable: a Redis nobody answers at (a real loopback
// port with no listener) gives errors that say Unavailable(), the store's
// writes and reads alike.
func TestRedisDownIsUnavailable(t *testing.T) {
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	s, err := NewRedis(redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1}), RedisConfig{PrivacyKey: []byte("unavailable-test-privacy-key")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	_, relaysErr := s.Relays(ctx)
	for name, err := range map[string]error{
		"Ping":       s.Ping(ctx),
		"Heartbeat":  s.Heartbeat(ctx, relay.Relay{ID: "fra-1"}, 15*time.Second),
		"SetDrained": s.SetDrained(ctx, "fra-1", true),
		"Relays":     relaysErr,
	} {
		var u interface{ Unavailable() bool }
		if !errors.As(err, &u) || !u.Unavailable() {
			t.Errorf("%s with Redis down: error = %v, want one that is Unavailable()", name, err)
		}
	}
}
