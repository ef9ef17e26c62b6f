package ratelimit_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/ratelimit"
	"github.com/relaygate/relaygate/store/storetest"
)

// replicas opens n limiters with rules, each on its own Redis client (as n
// gateway processes would be), sharing one key prefix and hash key, and
// deletes their keys when the test ends.
func replicas(t *testing.T, n int, rules map[string]ratelimit.Rule, tweak ...func(*ratelimit.RedisConfig)) ([]*ratelimit.Redis, *redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(storetest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	prefix := storetest.KeyPrefix(t)
	admin := redis.NewClient(opts)
	t.Cleanup(func() {
		defer admin.Close()
		keys, err := admin.Keys(context.Background(), "rate:"+prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = admin.Unlink(context.Background(), keys...).Err()
		}
		if err != nil {
			t.Errorf("delete test keys: %v", err)
		}
	})
	var ls []*ratelimit.Redis
	for range n {
		c := redis.NewClient(opts)
		t.Cleanup(func() { _ = c.Close() })
		cfg := ratelimit.RedisConfig{
			Config: ratelimit.Config{Rules: rules}, Client: c, Prefix: prefix, HashKey: []byte("hash-key-0123456789abcdef"),
		}
		for _, f := range tweak {
			f(&cfg)
		}
		l, err := ratelimit.NewRedis(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	return ls, admin, prefix
}

func syncAll(t *testing.T, ls []*ratelimit.Redis) {
	t.Helper()
	for i, l := range ls {
		if err := l.Sync(t.Context()); err != nil {
			t.Fatalf("replica %d: Sync() error = %v", i, err)
		}
	}
}

// A refill of one request per 6 minutes keeps Redis' own clock out of the
// arithmetic while a test runs.
var tenPerHour = map[string]ratelimit.Rule{"user": {Limit: 10, Window: time.Hour}, "prefix": {Limit: 10, Window: time.Hour}}

// TestRedisReplicasShareOneBudget: two replicas taking turns, syncing
// after each request, admit the shared budget once (10), not once each
// (20): at most Burst + (R-1) x (requests per replica between syncs) = 11.
func TestRedisReplicasShareOneBudget(t *testing.T) {
	ls, _, _ := replicas(t, 2, tenPerHour)
	admitted := 0
	for range 30 {
		for _, l := range ls {
			if ok, _ := l.Allow("user", "alice"); ok {
				admitted++
			}
		}
		syncAll(t, ls)
	}
	if admitted < 10 || admitted > 11 {
		t.Errorf("two replicas admitted %d requests of a 10/1h budget, want 10 or 11 (one request per replica between syncs)", admitted)
	}
	for i, l := range ls {
		if ok, retry := l.Allow("user", "alice"); ok || retry < time.Minute {
			t.Errorf("replica %d after the shared budget is spent: admitted %v, retry %v; want refused for minutes", i, ok, retry)
		}
		if ok, _ := l.Allow("user", "bob"); !ok {
			t.Errorf("replica %d refused bob, whose budget is his own", i)
		}
	}
}

// TestRedisBurstBetweenSyncsIsRepaid: the worst case of the precision
// bound. Both replicas spend a full burst before either syncs (20 of a
// 10/1h budget admitted); the sync charges the second burst as debt, so
// that replica refuses until Redis has taken it, an hour later.
func TestRedisBurstBetweenSyncsIsRepaid(t *testing.T) {
	ls, _, _ := replicas(t, 2, tenPerHour)
	for i, l := range ls {
		for j := range 10 {
			if ok, _ := l.Allow("user", "alice"); !ok {
				t.Fatalf("replica %d refused request %d before any sync: local buckets start full", i, j)
			}
		}
	}
	syncAll(t, ls)
	if d := ls[0].Debt("user", "alice"); d != 0 {
		t.Errorf("first replica to sync owes %d, want 0 (the shared budget took its 10)", d)
	}
	if d := ls[1].Debt("user", "alice"); d != 10 {
		t.Errorf("second replica owes %d, want 10 (the shared budget was spent)", d)
	}
	if ok, retry := ls[1].Allow("user", "alice"); ok || retry < 59*time.Minute {
		t.Errorf("indebted replica: admitted %v, retry %v; want refused for about an hour", ok, retry)
	}
	syncAll(t, ls) // charging again does not clear the debt early
	if d := ls[1].Debt("user", "alice"); d != 10 {
		t.Errorf("after another sync the second replica owes %d, want still 10", d)
	}
}

// TestRedisKeysAreHashed: Redis learns neither subjects nor prefixes.
func TestRedisKeysAreHashed(t *testing.T) {
	ls, admin, prefix := replicas(t, 1, tenPerHour)
	ls[0].Allow("user", "alice@example.com")
	ls[0].Allow("prefix", "198.51.100.0/24")
	syncAll(t, ls)
	keys, err := admin.Keys(t.Context(), "rate:"+prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys = %v, want one per scope", keys)
	}
	for _, k := range keys {
		for _, secret := range []string{"alice", "198.51.100", "/24"} {
			if strings.Contains(k, secret) {
				t.Errorf("Redis key %q contains %q", k, secret)
			}
		}
		if ttl := admin.TTL(t.Context(), k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("key %q expires in %v, want within the window", k, ttl)
		}
	}
}

// TestRedisUnreachable: a replica whose Redis is away keeps its local
// limit and says so from Sync.
func TestRedisUnreachable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreeTCPPort(t))), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	rules := map[string]ratelimit.Rule{"user": {Limit: 3, Window: time.Hour}}
	l, err := ratelimit.NewRedis(ratelimit.RedisConfig{Config: ratelimit.Config{Rules: rules}, Client: c, HashKey: []byte("hash-key-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	admitted := 0
	for range 6 {
		ok, _ := l.Allow("user", "alice")
		if !ok {
			continue
		}
		admitted++
		if err := l.Sync(t.Context()); err == nil {
			t.Fatal("Sync() = nil with Redis unreachable and a request to charge")
		}
	}
	if admitted != 3 {
		t.Errorf("admitted %d with Redis away, want the local rule's 3", admitted)
	}
}

// TestRedisRun: Run syncs on its own, so a budget spent on one replica is
// refused on the other without anyone calling Sync, and Run returns nil
// when stopped.
func TestRedisRun(t *testing.T) {
	ls, _, _ := replicas(t, 2, tenPerHour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 2)
	for _, l := range ls {
		go func() { done <- l.Run(ctx) }()
	}
	for range 10 {
		ls[0].Allow("user", "alice")
	}
	testenv.Eventually(t, "the second replica refuses alice", 10*time.Second, 20*time.Millisecond, func() error {
		if ok, _ := ls[1].Allow("user", "alice"); ok {
			return errors.New("admitted")
		}
		return nil
	})
	cancel()
	for range ls {
		testenv.WaitDone(t, "Run()", done, 5*time.Second)
	}
}

func TestRedisConfigRejects(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	for name, cfg := range map[string]ratelimit.RedisConfig{
		"no client":      {HashKey: []byte("hash-key-0123456789abcdef")},
		"short hash key": {Client: c, HashKey: []byte("short")},
		"slow sync":      {Client: c, HashKey: []byte("hash-key-0123456789abcdef"), Interval: time.Minute},
		"hold too long":  {Client: c, HashKey: []byte("hash-key-0123456789abcdef"), MaxHold: time.Minute},
	} {
		if _, err := ratelimit.NewRedis(cfg); !errors.Is(err, ratelimit.ErrConfig) {
			t.Errorf("%s: NewRedis() error = %v, want ErrConfig", name, err)
		}
	}
}

// TestRedisColdKeysWait: a key far from its limit (under a tenth of its
// burst since its last charge) is charged once MaxHold has passed, not at
// every sync; a key nearer its limit at the next sync.
func TestRedisColdKeysWait(t *testing.T) {
	rules := map[string]ratelimit.Rule{"user": {Limit: 100, Window: time.Hour}}
	ls, admin, prefix := replicas(t, 1, rules, func(c *ratelimit.RedisConfig) { c.Interval, c.MaxHold = 10*time.Millisecond, 30*time.Millisecond })
	l := ls[0]
	charged := func() int {
		keys, err := admin.Keys(t.Context(), "rate:"+prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	l.Allow("user", "cold")
	for i := range 2 {
		syncAll(t, ls)
		if n := charged(); n != 0 {
			t.Fatalf("after sync %d a cold key is charged (%d keys), want it held for MaxHold (3 syncs)", i+1, n)
		}
	}
	syncAll(t, ls)
	if n := charged(); n != 1 {
		t.Fatalf("after MaxHold the cold key is not charged (%d keys)", n)
	}
	for range 10 {
		l.Allow("user", "hot")
	}
	syncAll(t, ls)
	if n := charged(); n != 2 {
		t.Errorf("a key with a tenth of its burst spent is not charged at the next sync (%d keys)", n)
	}
}

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
	b.Cleanup(func() {
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
	testenv.RunUntilCleanup(b, "Run()", l.Run) // stops before the cleanup above
	return l
}
