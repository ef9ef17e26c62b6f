package store_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

var aggCfg = relay.AggregateConfig{}.WithDefaults()

// clientPrefix returns the i-th of many distinct IPv4 client prefixes.
func clientPrefix(i int) netip.Prefix {
	return relay.ClientPrefix(netip.AddrFrom4([4]byte{10 + byte(i>>16), byte(i >> 8), byte(i), 1}))
}

// countPrefixKeys returns the index's size and how many prefix hashes exist.
func countPrefixKeys(t *testing.T, s *store.Redis) (index, hashes int) {
	t.Helper()
	keys, c := s.KeysForTest(), s.ClientForTest()
	base := strings.TrimSuffix(keys[4], "prefixes") + "prefix:"
	return int(read(t, c.ZCard(t.Context(), keys[4]))), len(read(t, c.Keys(t.Context(), globEscaper.Replace(base)+"*")))
}

func TestRedisReplicasKeepTheirOwnProbes(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	prefix := storetest.KeyPrefix(t)
	a := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now, Replica: "gw-a"})
	b := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now, Replica: "gw-b"})
	a2 := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now, Replica: "gw-a"}) // gw-a restarted
	ctx := t.Context()
	if err := a.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
		t.Fatal(err)
	}
	pa := relay.Probe{Health: relay.HealthUp, RTT: 5 * time.Millisecond, ProbedAt: storetest.T0}
	pb := relay.Probe{Health: relay.HealthDegraded, RTT: 180 * time.Millisecond, ProbedAt: storetest.T0}
	if err := a.RecordProbes(ctx, map[string]relay.Probe{"fra-1": pa}); err != nil {
		t.Fatal(err)
	}
	if err := b.RecordProbes(ctx, map[string]relay.Probe{"fra-1": pb}); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		s    *store.Redis
		want relay.Probe
	}{"a": {a, pa}, "b": {b, pb}, "a restarted": {a2, pa}} {
		r, err := tt.s.Relay(ctx, "fra-1")
		if err != nil {
			t.Fatalf("%s.Relay() error = %v", name, err)
		}
		if r.Probe.Health != tt.want.Health || r.Probe.RTT != tt.want.RTT {
			t.Errorf("%s.Relay().Probe = %+v, want %+v", name, r.Probe, tt.want)
		}
		rs, err := tt.s.Relays(ctx)
		if err != nil || len(rs) != 1 || rs[0].Probe.Health != tt.want.Health {
			t.Errorf("%s.Relays() = %+v, %v; want fra-1 with %s", name, rs, err, tt.want.Health)
		}
	}
}

func TestRedisGarbageCollectsProbes(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, Replica: "gw-1"})
	ctx := t.Context()
	c, probes := s.ClientForTest(), s.KeysForTest()[3]
	hlen := func() int64 {
		t.Helper()
		return read(t, c.HLen(ctx, probes))
	}
	heartbeatN(t, s, "relay", 3)
	p := relay.Probe{Health: relay.HealthUp, ProbedAt: storetest.T0}
	if err := s.RecordProbes(ctx, map[string]relay.Probe{"relay-000": p, "relay-001": p, "relay-002": p, "ghost": p}); err != nil {
		t.Fatal(err)
	}
	if n := hlen(); n != 3 {
		t.Fatalf("after probing a relay that is not registered: %d views, want 3", n)
	}
	if ttl, err := c.PTTL(ctx, probes).Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("PTTL(probes) = %v, %v; want at most an hour", ttl, err)
	}

	// relay-000 stops being probed: its view ages out; the others are renewed.
	clock.Advance(store.ProbeMaxAge + time.Second)
	heartbeatN(t, s, "relay", 3)
	q := relay.Probe{Health: relay.HealthUp, ProbedAt: clock.Now()}
	if err := s.RecordProbes(ctx, map[string]relay.Probe{"relay-001": q, "relay-002": q}); err != nil {
		t.Fatal(err)
	}
	if n := hlen(); n != 2 {
		t.Fatalf("after relay-000's view aged out: %d views, want 2", n)
	}
	// relay-001 leaves the registry: its view goes with the next scan.
	if err := c.HDel(ctx, s.KeysForTest()[0], "relay-001").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordProbes(ctx, map[string]relay.Probe{"relay-002": q}); err != nil {
		t.Fatal(err)
	}
	if n := hlen(); n != 1 {
		t.Fatalf("after relay-001 left: %d views, want 1", n)
	}
}

// Two gateways folding into one prefix at once lose nothing.
func TestRedisGatewaysAddingConcurrentlyLoseNothing(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	prefix := storetest.KeyPrefix(t)
	gws := []*store.Redis{
		storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now, Replica: "gw-a"}),
		storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now, Replica: "gw-b"}),
	}
	const perGateway, perWorker = 8, 40
	p := netip.MustParsePrefix("203.0.113.0/24")
	var wg sync.WaitGroup
	for _, gw := range gws {
		for range perGateway {
			wg.Go(func() {
				for range perWorker {
					if err := gw.AddMeasurements(t.Context(), p, []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}); err != nil {
						t.Errorf("AddMeasurements() error = %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	for i, gw := range gws {
		got, _, err := gw.Measurements(t.Context(), time.Time{})
		if err != nil {
			t.Fatalf("gateway %d: Measurements() error = %v", i, err)
		}
		if a := got[p]["fra-1"]; a.Samples != len(gws)*perGateway*perWorker {
			t.Errorf("gateway %d: Samples = %d, want %d", i, a.Samples, len(gws)*perGateway*perWorker)
		}
	}
}

func TestRedisGarbageCollectsStalePrefixes(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, GCBatch: 10})
	ctx := t.Context()
	add := func(p netip.Prefix) {
		t.Helper()
		if err := s.AddMeasurements(ctx, p, []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}); err != nil {
			t.Fatalf("AddMeasurements() error = %v", err)
		}
	}
	for i := range 25 {
		add(clientPrefix(i))
	}
	if idx, keys := countPrefixKeys(t, s); idx != 25 || keys != 25 {
		t.Fatalf("before expiry: index, hashes = %d, %d; want 25, 25", idx, keys)
	}
	key := s.KeysForTest()[4]
	if ttl, err := s.ClientForTest().PTTL(ctx, strings.TrimSuffix(key, "prefixes")+"prefix:"+clientPrefix(0).String()).Result(); err != nil || ttl <= 0 || ttl > aggCfg.MaxAge {
		t.Fatalf("PTTL(prefix hash) = %v, %v; want at most %v", ttl, err, aggCfg.MaxAge)
	}

	clock.Advance(aggCfg.MaxAge) // not yet stale: nothing goes
	add(clientPrefix(100))
	if idx, keys := countPrefixKeys(t, s); idx != 26 || keys != 26 {
		t.Fatalf("at the max age: index, hashes = %d, %d; want 26, 26", idx, keys)
	}
	clock.Advance(time.Millisecond)
	for _, want := range []int{16, 6, 1, 1} { // a batch of 10 per add
		add(clientPrefix(100))
		if idx, keys := countPrefixKeys(t, s); idx != want || keys != want {
			t.Fatalf("after an add: index, hashes = %d, %d; want %d, %d", idx, keys, want, want)
		}
	}
}

func TestRedisEvictionDeletesPrefixKeys(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, MaxPrefixes: 3})
	for i := range 5 {
		if err := s.AddMeasurements(t.Context(), clientPrefix(i), []relay.Measurement{{RelayID: "fra-1"}}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	if idx, keys := countPrefixKeys(t, s); idx != 3 || keys != 3 {
		t.Fatalf("index, hashes = %d, %d; want 3, 3", idx, keys)
	}
}

func TestRedisMeasurementAndProbeFormat(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, Replica: "gw-1"})
	ctx := t.Context()
	c, keys := s.ClientForTest(), s.KeysForTest()
	p := netip.MustParsePrefix("2001:db8:7::/48")
	if err := s.AddMeasurements(ctx, p, []relay.Measurement{{RelayID: "fra-1", RTT: 30 * time.Millisecond, Loss: 0.1}}); err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSuffix(keys[4], "prefixes") + "prefix:2001:db8:7::/48"
	got := read(t, c.HGet(ctx, hash, "fra-1"))
	want := fmt.Sprintf(`{"v":1,"rtt_ms":30,"loss":0.10000000000000001,"weight":1,"samples":1,"updated_s":%d,"updated_ns":123456789}`, storetest.T0.Unix())
	if got != want {
		t.Fatalf("stored aggregate =\n%s\nwant\n%s", got, want)
	}
	score, err := c.ZScore(ctx, keys[4], "2001:db8:7::/48").Result()
	if err != nil || int64(score) != storetest.T0.UnixMilli() {
		t.Fatalf("ZSCORE(prefixes) = %v, %v; want %d", score, err, storetest.T0.UnixMilli())
	}

	if err := s.Heartbeat(ctx, storetest.Fra1(), storetest.TTL); err != nil {
		t.Fatal(err)
	}
	probe := relay.Probe{Health: relay.HealthUp, RTT: 12 * time.Millisecond, MinRTT: 11 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.02, ProbedAt: storetest.T0}
	if err := s.RecordProbes(ctx, map[string]relay.Probe{"fra-1": probe}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(keys[3], "{registry}:probes:gw-1") {
		t.Fatalf("probe key = %q, want it to end in {registry}:probes:gw-1", keys[3])
	}
	got = read(t, c.HGet(ctx, keys[3], "fra-1"))
	want = fmt.Sprintf(`{"v":1,"health":"up","rtt_ns":12000000,"min_rtt_ns":11000000,"jitter_ns":1000000,"loss":0.02,"probed_at_unix_ns":%d}`, storetest.T0.UnixNano())
	if got != want {
		t.Fatalf("stored probe =\n%s\nwant\n%s", got, want)
	}

	// Records in a version this gateway does not know are refused, not misread.
	if err := c.HSet(ctx, hash, "fra-1", strings.Replace(want, `"v":1`, `"v":2`, 1)).Err(); err != nil {
		t.Fatal(err)
	}
	var re *store.RecordError
	if _, _, err := s.Measurements(ctx, time.Time{}); !errors.As(err, &re) || re.ID != "fra-1" || re.Version != 2 {
		t.Errorf("Measurements() error = %v, want a RecordError for fra-1, version 2", err)
	}
	if err := s.AddMeasurements(ctx, p, []relay.Measurement{{RelayID: "fra-1"}}); err == nil || strings.Contains(err.Error(), "2001:db8") {
		t.Errorf("AddMeasurements() onto an unknown version: error = %v, want one not naming the prefix", err)
	}
	if err := c.HSet(ctx, keys[3], "fra-1", `{"v":2}`).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Relay(ctx, "fra-1"); !errors.As(err, &re) || re.Version != 2 {
		t.Errorf("Relay() with an unknown probe version: error = %v, want a RecordError", err)
	}
}
