package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/ratelimit"
	"github.com/relaygate/relaygate/store/storetest"
)

// benchRules never refuse, so every call takes the admitting path.
var benchRules = map[string]ratelimit.Rule{"user": {Limit: 1_000_000_000, Window: time.Second}}

type limiter interface {
	Allow(scope, key string) (bool, time.Duration)
}

// benchAllow is one Allow per iteration over keys in turn, as many
// goroutines as -cpu says.
func benchAllow(b *testing.B, l limiter, keys []string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if ok, _ := l.Allow("user", keys[i%len(keys)]); !ok {
				b.Error("refused")
				return
			}
			i++
		}
	})
}

// BenchmarkAllow: one token reused (16 keys, as the gateway bench's
// connections) or 100,000 keys in turn (more than a scope remembers), in
// memory and on Redis with its background syncs running.
func BenchmarkAllow(b *testing.B) {
	few, many := benchKeys(16), benchKeys(100_000)
	b.Run("memory/reused", func(b *testing.B) { benchAllow(b, benchMemory(b), few) })
	b.Run("memory/new", func(b *testing.B) { benchAllow(b, benchMemory(b), many) })
	b.Run("redis/reused", func(b *testing.B) { benchAllow(b, benchRedis(b), few) })
	b.Run("redis/new", func(b *testing.B) { benchAllow(b, benchRedis(b), many) })
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "subject-" + strconv.Itoa(i)
	}
	return keys
}

func benchMemory(b *testing.B) *ratelimit.Memory {
	m, err := ratelimit.NewMemory(ratelimit.Config{Rules: benchRules})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchRedis(b *testing.B) *ratelimit.Redis {
	opts, err := redis.ParseURL(storetest.RedisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	c := redis.NewClient(opts)
	prefix := storetest.KeyPrefix(b)
	l, err := ratelimit.NewRedis(ratelimit.RedisConfig{Config: ratelimit.Config{Rules: benchRules}, Client: c, Prefix: prefix, HashKey: []byte("bench-hash-key-0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run() = %v", err)
		}
		var cursor uint64
		for {
			keys, next, err := c.Scan(context.Background(), cursor, "rate:"+prefix+"*", 1000).Result()
			if err != nil {
				b.Errorf("delete bench keys: %v", err)
				break
			}
			if len(keys) > 0 {
				c.Unlink(context.Background(), keys...)
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		_ = c.Close()
	})
	return l
}
