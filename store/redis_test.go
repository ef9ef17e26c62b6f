package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// globEscaper quotes the characters KEYS' and SCAN's MATCH treat specially.
var globEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`)

func TestRedis(t *testing.T) {
	storetest.RedisURL(t)
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) store.Registry {
		return storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: cfg.Now, MaxPrefixes: cfg.MaxPrefixes})
	})
}

// Two gateways on one Redis and prefix share one registry.
func TestRedisUsage(t *testing.T) {
	storetest.RedisURL(t)
	storetest.RunUsage(t, func(t *testing.T, cfg storetest.Config) store.Usage {
		return storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: cfg.Now})
	})
}

func TestRedisStoresOnOnePrefixShareRelays(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	prefix := storetest.KeyPrefix(t)
	a := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now})
	b := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now})
	other := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now})
	ctx := t.Context()

	fra := storetest.Fra1()
	ams := storetest.Fra1()
	ams.ID = "ams-2"
	if err := a.Heartbeat(ctx, fra, storetest.TTL); err != nil {
		t.Fatalf("a.Heartbeat() error = %v", err)
	}
	if err := b.Heartbeat(ctx, ams, storetest.TTL); err != nil {
		t.Fatalf("b.Heartbeat() error = %v", err)
	}
	if err := b.SetDrained(ctx, "fra-1", true); err != nil {
		t.Fatalf("b.SetDrained(fra-1) error = %v", err)
	}
	for name, s := range map[string]*store.Redis{"a": a, "b": b} {
		rs, err := s.Relays(ctx)
		if err != nil {
			t.Fatalf("%s.Relays() error = %v", name, err)
		}
		if len(rs) != 2 || rs[0].ID != "ams-2" || rs[1].ID != "fra-1" || rs[0].Drained || !rs[1].Drained {
			t.Fatalf("%s.Relays() = %+v, want ams-2 and drained fra-1", name, rs)
		}
	}
	if rs, err := other.Relays(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("other prefix Relays() = %d relays, %v; want 0, nil", len(rs), err)
	}
}

// redisCmd is a go-redis command that read a T.
type redisCmd[T any] interface {
	Name() string
	Result() (T, error)
}

// read returns what cmd read, failing t when it failed.
func read[T any](t *testing.T, cmd redisCmd[T]) T {
	t.Helper()
	v, err := cmd.Result()
	if err != nil {
		t.Fatalf("%s: %v", strings.ToUpper(cmd.Name()), err)
	}
	return v
}

// countKeys returns the entries held in the relays hash and expiry set.
func countKeys(t *testing.T, s *store.Redis) (relays, expiry int64) {
	t.Helper()
	keys, c := s.KeysForTest(), s.ClientForTest()
	return read(t, c.HLen(t.Context(), keys[0])), read(t, c.ZCard(t.Context(), keys[1]))
}

func heartbeatN(t *testing.T, s *store.Redis, prefix string, n int) {
	t.Helper()
	for i := range n {
		r := storetest.Fra1()
		r.ID = fmt.Sprintf("%s-%03d", prefix, i)
		if err := s.Heartbeat(t.Context(), r, storetest.TTL); err != nil {
			t.Fatalf("Heartbeat(%q) error = %v", r.ID, err)
		}
	}
}

func TestRedisGarbageCollectsExpiredRelays(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, GCBatch: 10})
	heartbeatN(t, s, "old", 25)
	clock.Advance(storetest.TTL - time.Nanosecond)
	heartbeatN(t, s, "new", 1)
	if r, z := countKeys(t, s); r != 26 || z != 26 {
		t.Fatalf("before expiry: relays, expiry = %d, %d; want 26, 26", r, z)
	}

	// Collection rounds to whole milliseconds, in the direction that keeps
	// relays (reads are exact to the nanosecond): a millisecond past expiry,
	// every expired relay is collectable.
	clock.Advance(time.Millisecond)
	heartbeatN(t, s, "new", 1) // collects one batch
	if r, z := countKeys(t, s); r != 16 || z != 16 {
		t.Fatalf("after one heartbeat: relays, expiry = %d, %d; want 16, 16 (batch of 10 gone)", r, z)
	}
	n, err := s.Collect(t.Context())
	if err != nil || n != 10 {
		t.Fatalf("Collect() = %d, %v; want 10, nil", n, err)
	}
	if n, err := s.Collect(t.Context()); err != nil || n != 5 {
		t.Fatalf("second Collect() = %d, %v; want 5, nil", n, err)
	}
	if r, z := countKeys(t, s); r != 1 || z != 1 {
		t.Fatalf("after collecting: relays, expiry = %d, %d; want 1, 1", r, z)
	}
}

// A gateway whose clock says a relay expired must not collect it once
// another gateway has heard from it again.
func TestRedisGarbageCollectionSparesFreshHeartbeats(t *testing.T) {
	prefix := storetest.KeyPrefix(t)
	late := storetest.NewClock(storetest.T0.Add(storetest.TTL + time.Millisecond))
	early := storetest.NewClock(storetest.T0)
	collector := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: late.Now})
	writer := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: early.Now})
	heartbeatN(t, writer, "relay", 3)
	early.Advance(time.Second)
	heartbeatN(t, writer, "relay", 1) // relay-000 now expires a second after the others

	n, err := collector.Collect(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("Collect() = %d, %v; want 2, nil", n, err)
	}
	if _, err := collector.Relay(t.Context(), "relay-000"); err != nil {
		t.Fatalf("Relay(relay-000) error = %v, want the re-heartbeated relay", err)
	}
}

func TestRedisRecordFormat(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now})
	ctx := t.Context()
	if err := s.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
		t.Fatalf("Heartbeat() error = %v", err)
	}
	relays := s.KeysForTest()[0]
	got := read(t, s.ClientForTest().HGet(ctx, relays, "fra-1"))
	const want = `{"v":1,"id":"fra-1","region":"eu-central","site":"fra","latitude":50.11,"longitude":8.68,"country":"DE",` +
		`"addresses":["203.0.113.5","2001:db8::5"],"hostname":"fra-1.relay.example",` +
		`"ports":{"udp":3478,"tcp":3478,"tls":5349},"capacity":{"allocations":10000,"bandwidth_bps":1000000000},` +
		`"load":{"allocations":120,"bandwidth_bps":32000000},"draining":true,"version":"0.1.0",` +
		`"last_seen":"2026-11-25T12:00:00.123456789Z","expires_at":"2026-11-25T12:00:15.123456789Z"}`
	if got != want {
		t.Fatalf("stored record =\n%s\nwant\n%s", got, want)
	}

	tests := []struct {
		name, record string
	}{
		{"unknown version", strings.Replace(want, `"v":1`, `"v":2`, 1)},
		{"no version", strings.Replace(want, `"v":1,`, ``, 1)},
		{"id of another relay", strings.Replace(want, `"id":"fra-1"`, `"id":"ams-2"`, 1)},
		{"not json", `{"v":1,`},
		{"not a country", strings.Replace(want, `"country":"DE"`, `"country":"XX"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.ClientForTest().HSet(ctx, relays, "fra-1", tt.record).Err(); err != nil {
				t.Fatalf("HSET: %v", err)
			}
			var re *store.RecordError
			if _, err := s.Relay(ctx, "fra-1"); !errors.As(err, &re) || re.ID != "fra-1" {
				t.Errorf("Relay() error = %v, want a RecordError for fra-1", err)
			}
			if _, err := s.Relays(ctx); !errors.As(err, &re) {
				t.Errorf("Relays() error = %v, want a RecordError", err)
			}
		})
	}
	t.Run("record from before countries reads as unknown", func(t *testing.T) {
		old := strings.Replace(want, `"country":"DE",`, ``, 1)
		if err := s.ClientForTest().HSet(ctx, relays, "fra-1", old).Err(); err != nil {
			t.Fatalf("HSET: %v", err)
		}
		if r, err := s.Relay(ctx, "fra-1"); err != nil || r.Country.Known() {
			t.Errorf("Relay() = country %q, %v; want unknown, nil", r.Country, err)
		}
	})
}

func TestOpenRedisRejects(t *testing.T) {
	const secret = "s3cr%65t-pw" // "s3cret-pw" once unescaped
	tests := []struct {
		name string
		cfg  store.RedisConfig
	}{
		{"empty url", store.RedisConfig{}},
		{"no scheme", store.RedisConfig{URL: "u:" + secret + "@localhost:6379"}},
		{"unknown scheme", store.RedisConfig{URL: "http://u:" + secret + "@localhost:6379"}},
		{"unparsable url", store.RedisConfig{URL: "redis://u:" + secret + "@[::1/0"}},
		{"bad escape in password", store.RedisConfig{URL: "redis://u:" + secret + "%zz@localhost:6379/0"}},
		{"bad database", store.RedisConfig{URL: "redis://u:" + secret + "@localhost:6379/x"}},
		{"unknown option", store.RedisConfig{URL: "redis://u:" + secret + "@localhost:6379/0?bogus=1"}},
		{"bad option value", store.RedisConfig{URL: "redis://localhost:6379/0?pool_size=many&password=" + secret}},
		{"sentinel without master name", store.RedisConfig{URL: "redis+sentinel://u:" + secret + "@localhost:26379"}},
		{"sentinel bad option", store.RedisConfig{URL: "redis+sentinel://localhost:26379?master_name=m&password=" + secret + "&bogus=1"}},
		{"cluster with database", store.RedisConfig{URL: "redis+cluster://u:" + secret + "@localhost:7000/1"}},
		{"cluster bad addr", store.RedisConfig{URL: "redis+cluster://u:" + secret + "@localhost:7000?addr=nope"}},
		{"prefix with hash tag", store.RedisConfig{URL: "redis://localhost", Prefix: "a{b}:"}},
		{"gc batch too large", store.RedisConfig{URL: "redis://localhost", GCBatch: 10_001}},
		{"gc batch negative", store.RedisConfig{URL: "redis://localhost", GCBatch: -1}},
		{"no privacy key", store.RedisConfig{URL: "redis://localhost", PrivacyKey: []byte{}}},
		{"short privacy key", store.RedisConfig{URL: "redis://localhost", PrivacyKey: []byte(secret)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.PrivacyKey == nil { // so that only what the row names is wrong
				tt.cfg.PrivacyKey = storetest.PrivacyKey
			}
			s, err := store.OpenRedis(t.Context(), tt.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("OpenRedis() error = nil, want ErrConfig")
			}
			if !errors.Is(err, store.ErrConfig) {
				t.Errorf("OpenRedis() error = %v, want ErrConfig", err)
			}
			for _, leak := range []string{secret, "s3cret-pw", tt.cfg.URL} {
				if leak != "" && strings.Contains(err.Error(), leak) {
					t.Errorf("OpenRedis() error %q leaks %q", err, leak)
				}
			}
		})
	}
}

func TestOpenRedisUnreachableHidesPassword(t *testing.T) {
	_, err := store.OpenRedis(t.Context(), store.RedisConfig{URL: "redis://u:s3cret@127.0.0.1:1/0?max_retries=-1&dial_timeout=1s", PrivacyKey: storetest.PrivacyKey})
	if err == nil {
		t.Fatalf("OpenRedis(closed port) error = nil")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("OpenRedis() error %q leaks the password", err)
	}
}

func TestRedisURLSchemes(t *testing.T) {
	tests := []struct {
		url  string
		want string // client type
	}{
		{"redis://localhost:6379/2", "*redis.Client"},
		{"REDIS://localhost", "*redis.Client"},
		{"rediss://u:p@localhost:6380/0?skip_verify=true", "*redis.Client"},
		{"unix:///run/redis.sock?db=1", "*redis.Client"},
		{"redis+sentinel://localhost:26379/0?master_name=m&addr=localhost:26380", "*redis.Client"},
		{"rediss+sentinel://u:p@localhost:26379?master_name=m&password=q", "*redis.Client"},
		{"redis+sentinel://localhost:26379?master_name=m&route_randomly=true", "*redis.ClusterClient"},
		{"redis+cluster://localhost:7000?addr=localhost:7001&addr=localhost:7002", "*redis.ClusterClient"},
		{"rediss+cluster://u:p@localhost:7000/", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := store.NewRedisClient(tt.url)
			if err != nil {
				t.Fatalf("NewRedisClient() error = %v", err)
			}
			defer c.Close()
			if got := fmt.Sprintf("%T", c); got != tt.want {
				t.Errorf("NewRedisClient() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewRedisRejectsNilClient(t *testing.T) {
	if _, err := store.NewRedis(nil, store.RedisConfig{PrivacyKey: storetest.PrivacyKey}); !errors.Is(err, store.ErrConfig) {
		t.Errorf("NewRedis(nil) error = %v, want ErrConfig", err)
	}
}

// Collecting an expired relay also drops it from the change sets, which
// thus hold one member per stored relay.
func TestRedisGarbageCollectsChanges(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now})
	ctx := t.Context()
	heartbeatN(t, s, "old", 5)
	heartbeatN(t, s, "old", 5) // again: still one member each
	probes := map[string]relay.Probe{}
	for i := range 5 {
		probes[fmt.Sprintf("old-%03d", i)] = relay.Probe{Health: relay.HealthUp, ProbedAt: storetest.T0}
	}
	if err := s.RecordProbes(ctx, probes); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDrained(ctx, "old-000", true); err != nil {
		t.Fatal(err)
	}
	keys, c := s.KeysForTest(), s.ClientForTest()
	card := func() (int64, int64) {
		t.Helper()
		return read(t, c.ZCard(ctx, keys[6])), read(t, c.ZCard(ctx, keys[7]))
	}
	if a, b := card(); a != 5 || b != 5 {
		t.Fatalf("changes, probe changes = %d, %d; want 5, 5", a, b)
	}
	clock.Advance(storetest.TTL + time.Second)
	if n, err := s.Collect(ctx); err != nil || n != 5 {
		t.Fatalf("Collect() = %d, %v; want 5, nil", n, err)
	}
	if a, b := card(); a != 0 || b != 0 {
		t.Fatalf("after collecting: changes, probe changes = %d, %d; want 0, 0", a, b)
	}
}

// Redis holds no pseudonym of a TURN username, in keys or values, and
// every usage key expires.
func TestRedisUsageKeysHidePseudonyms(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	prefix := storetest.KeyPrefix(t)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now})
	const pseudonym = "Hq3xL0p9sVbT2mYcN8rW"
	err := s.AddUsage(t.Context(), "fra-1", relay.UsageReport{Epoch: "e1", Seq: 1, Entries: []relay.UsageEntry{
		{Pseudonym: pseudonym, Usage: relay.Usage{BytesToPeer: 5, AllocationTime: time.Second}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	keys, err := s.Client().Keys(ctx, globEscaper.Replace(prefix)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Errorf("keys = %q, want 4 (a user's marks and day, the relays' marks and day)", keys)
	}
	for _, k := range keys {
		vals, err := s.Client().HGetAll(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k, pseudonym) || strings.Contains(fmt.Sprint(vals), pseudonym) {
			t.Errorf("key %q = %v names the pseudonym", k, vals)
		}
		if ttl := s.Client().TTL(ctx, k).Val(); ttl <= 0 || ttl > store.UsageRetention+24*time.Hour {
			t.Errorf("key %q TTL = %v, want within the retention and a day", k, ttl)
		}
	}
}

// A report sent again after an attempt that counted some of its entries
// and failed is counted once in all: the rest of the entries and the
// relay's total, nothing twice.
func TestRedisUsageRetryAfterPartialCount(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now})
	ctx := t.Context()
	a := relay.UsageEntry{Pseudonym: "alice", Usage: relay.Usage{BytesToPeer: 100, BytesFromPeer: 10, AllocationTime: time.Second}}
	b := relay.UsageEntry{Pseudonym: "bob", Usage: relay.Usage{BytesToPeer: 7, BytesFromPeer: 70, AllocationTime: 2 * time.Second}}
	if err := s.AddUsageEntriesForTest(ctx, "fra-1", relay.UsageReport{Epoch: "e1", Seq: 1, Entries: []relay.UsageEntry{a}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, "fra-1", relay.UsageReport{Epoch: "e1", Seq: 1, Entries: []relay.UsageEntry{a, b}}); err != nil {
		t.Fatal(err)
	}
	hour := storetest.T0.Truncate(time.Hour)
	for _, e := range []relay.UsageEntry{a, b} {
		got, err := s.UsageOf(ctx, []string{e.Pseudonym}, hour, hour.Add(time.Hour))
		if err != nil || len(got) != 1 || got[0].Usage != e.Usage {
			t.Errorf("UsageOf(%s) = %+v, %v; want %+v once", e.Pseudonym, got, err, e.Usage)
		}
	}
	rs, err := s.RelayUsage(ctx, hour, hour.Add(time.Hour))
	want := a.Usage
	want.Add(b.Usage)
	if err != nil || len(rs) != 1 || rs[0].Usage != want {
		t.Errorf("RelayUsage() = %+v, %v; want fra-1 with %+v", rs, err, want)
	}
}
