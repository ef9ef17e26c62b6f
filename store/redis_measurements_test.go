package store_test

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
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
	base := strings.TrimSuffix(keys[4], "{measured}:prefixes")
	return int(read(t, c.ZCard(t.Context(), keys[4]))), len(read(t, c.Keys(t.Context(), globEscaper.Replace(base)+"{*}:prefix")))
}

// addOne folds one measurement of fra-1 by reporter "r" into p.
func addOne(t *testing.T, s store.Registry, p netip.Prefix) {
	t.Helper()
	if err := s.AddMeasurements(t.Context(), p, "r", []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}); err != nil {
		t.Fatalf("AddMeasurements() error = %v", err)
	}
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
					if err := gw.AddMeasurements(t.Context(), p, "r", []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}); err != nil {
						t.Errorf("AddMeasurements() error = %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	const n = 2 * perGateway * perWorker
	for i, gw := range gws {
		got, _, err := gw.Measurements(t.Context(), time.Time{})
		if err != nil {
			t.Fatalf("gateway %d: Measurements() error = %v", i, err)
		}
		// The clock stands still: the reporter's weight counts its samples.
		if a := got[p]["fra-1"]; a.Samples != n || len(a.Reporters) != 1 || a.Reporters[0].Weight != n {
			t.Errorf("gateway %d: aggregate = %+v, want %d samples, all of one reporter's weight", i, a, n)
		}
	}
}

func TestRedisGarbageCollectsStalePrefixes(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, GCBatch: 10})
	ctx := t.Context()
	for i := range 25 {
		addOne(t, s, clientPrefix(i))
	}
	if idx, keys := countPrefixKeys(t, s); idx != 25 || keys != 25 {
		t.Fatalf("before expiry: index, hashes = %d, %d; want 25, 25", idx, keys)
	}
	c := s.ClientForTest()
	for _, key := range []string{s.PrefixKeyForTest(clientPrefix(0)), s.KeysForTest()[4]} {
		if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > aggCfg.MaxAge {
			t.Fatalf("PTTL(%s) = %v, %v; want at most %v", key, ttl, err, aggCfg.MaxAge)
		}
	}

	clock.Advance(aggCfg.MaxAge) // not yet stale: nothing goes
	addOne(t, s, clientPrefix(100))
	if idx, keys := countPrefixKeys(t, s); idx != 26 || keys != 26 {
		t.Fatalf("at the max age: index, hashes = %d, %d; want 26, 26", idx, keys)
	}
	clock.Advance(time.Millisecond)
	for _, want := range []int{16, 6, 1, 1} { // a batch of 10 per add
		addOne(t, s, clientPrefix(100))
		if idx, keys := countPrefixKeys(t, s); idx != want || keys != want {
			t.Fatalf("after an add: index, hashes = %d, %d; want %d, %d", idx, keys, want, want)
		}
	}
}

func TestRedisEvictionDeletesPrefixKeys(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, MaxPrefixes: 3})
	for i := range 5 {
		addOne(t, s, clientPrefix(i))
		clock.Advance(time.Millisecond)
	}
	if idx, keys := countPrefixKeys(t, s); idx != 3 || keys != 3 {
		t.Fatalf("index, hashes = %d, %d; want 3, 3", idx, keys)
	}
}

// Trimming deletes a prefix's hash only if no fold touched it after the
// index entry the trim removed: a gateway measuring the prefix meanwhile
// has put it back in the index, and its samples stay.
func TestRedisTrimSparesAPrefixMeasuredMeanwhile(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now})
	ctx := t.Context()
	p := clientPrefix(7)
	addOne(t, s, p)
	clock.Advance(time.Second)
	addOne(t, s, p) // the fold that raced the trim
	if deleted, err := s.DropPrefixForTest(ctx, p, storetest.T0); err != nil || deleted {
		t.Fatalf("drop after a later fold = %v, %v; want spared", deleted, err)
	}
	if got, _, err := s.Measurements(ctx, time.Time{}); err != nil || got[p]["fra-1"].Samples != 2 {
		t.Fatalf("Measurements() = %+v, %v; want both samples", got[p], err)
	}
	if deleted, err := s.DropPrefixForTest(ctx, p, clock.Now()); err != nil || !deleted {
		t.Fatalf("drop with nothing newer = %v, %v; want deleted", deleted, err)
	}
	// The index still names it (the drop follows the index's trim): a
	// read finds nothing there, and no error.
	if got, _, err := s.Measurements(ctx, time.Time{}); err != nil || len(got) != 0 {
		t.Fatalf("Measurements() with an index entry whose hash is gone = %+v, %v; want nothing", got, err)
	}
}

// What an attacker reading Redis finds: no client prefix in any key or
// value; keyed hashes, one hash tag per prefix, and the prefix sealed.
func TestRedisKeepsPrefixesOut(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	prefix := storetest.KeyPrefix(t)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now})
	ctx := t.Context()
	prefixes := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:7::/48")}
	for _, p := range prefixes {
		if err := s.AddMeasurements(ctx, p, "r", []relay.Measurement{{RelayID: "fra-1", RTT: 20 * time.Millisecond}}); err != nil {
			t.Fatal(err)
		}
	}
	c := s.ClientForTest()
	keys := read(t, c.Keys(ctx, globEscaper.Replace(prefix)+"*"))
	var dump strings.Builder
	tags := map[string]bool{}
	for _, k := range keys {
		dump.WriteString(k + "\n")
		switch read(t, c.Type(ctx, k)) {
		case "hash":
			for f, v := range read(t, c.HGetAll(ctx, k)) {
				dump.WriteString(f + "=" + v + "\n")
			}
		case "zset":
			for _, m := range read(t, c.ZRange(ctx, k, 0, -1)) {
				dump.WriteString(m + "\n")
			}
		}
		if from, to := strings.Index(k, "{"), strings.Index(k, "}"); strings.HasSuffix(k, ":prefix") && from >= 0 && to > from {
			tags[k[from+1:to]] = true
		}
	}
	for _, leak := range []string{"203.0.113", "2001:db8", "2001:0db8"} {
		if strings.Contains(dump.String(), leak) {
			t.Errorf("Redis holds %q:\n%s", leak, dump.String())
		}
	}
	if len(tags) != len(prefixes) {
		t.Errorf("prefix hash tags = %v, want one per prefix, %d", tags, len(prefixes))
	}
	got, _, err := s.Measurements(ctx, time.Time{})
	if err != nil || len(got) != 2 || len(got[prefixes[1]]) != 1 {
		t.Fatalf("Measurements() = %v, %v; want both prefixes back", got, err)
	}

	// Another key cannot open them.
	other := storetest.OpenRedis(t, store.RedisConfig{Prefix: prefix, Now: clock.Now, PrivacyKey: []byte("another-privacy-key-0123456789")})
	if _, _, err := other.Measurements(ctx, time.Time{}); err == nil || strings.Contains(err.Error(), "203.0.113") {
		t.Errorf("Measurements() under another key: error = %v, want one that names no prefix", err)
	}
}

func TestRedisMeasurementAndProbeFormat(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	s := storetest.OpenRedis(t, store.RedisConfig{Prefix: storetest.KeyPrefix(t), Now: clock.Now, Replica: "gw-1"})
	ctx := t.Context()
	c, keys := s.ClientForTest(), s.KeysForTest()
	p := netip.MustParsePrefix("2001:db8:7::/48")
	if err := s.AddMeasurements(ctx, p, "r", []relay.Measurement{{RelayID: "fra-1", RTT: 30 * time.Millisecond, Loss: 0.1}}); err != nil {
		t.Fatal(err)
	}
	hash := s.PrefixKeyForTest(p)
	stored := read(t, c.HGetAll(ctx, hash))
	got := stored["fra-1"]
	want := fmt.Sprintf(`{"v":2,"samples":1,"updated_s":%d,"updated_ns":123456789,"reporters":[`+
		`{"id":"r","rtt_ms":30,"loss":0.10000000000000001,"weight":1,"updated_s":%[1]d,"updated_ns":123456789}]}`, storetest.T0.Unix())
	if got != want {
		t.Fatalf("stored aggregate =\n%s\nwant\n%s", got, want)
	}
	metaRE := regexp.MustCompile(fmt.Sprintf(`^\{"v":2,"touched_ms":%d,"prefix":"[A-Za-z0-9+/=]{40,}"\}$`, storetest.T0.UnixMilli()))
	if meta := stored[""]; !metaRE.MatchString(meta) || len(stored) != 2 {
		t.Fatalf("stored meta =\n%s\nwant it to match\n%s, beside one aggregate", meta, metaRE)
	}
	tag := hash[strings.Index(hash, "{")+1 : strings.Index(hash, "}")]
	score, err := c.ZScore(ctx, keys[4], tag).Result()
	if err != nil || int64(score) != storetest.T0.UnixMilli() || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(tag) {
		t.Fatalf("ZSCORE(prefixes, %q) = %v, %v; want %d under a 24-hex-digit tag", tag, score, err, storetest.T0.UnixMilli())
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
	if err := c.HSet(ctx, hash, "fra-1", strings.Replace(stored["fra-1"], `"v":2`, `"v":3`, 1)).Err(); err != nil {
		t.Fatal(err)
	}
	var re *store.RecordError
	if _, _, err := s.Measurements(ctx, time.Time{}); !errors.As(err, &re) || re.ID != "fra-1" || re.Version != 3 {
		t.Errorf("Measurements() error = %v, want a RecordError for fra-1, version 3", err)
	}
	if err := s.AddMeasurements(ctx, p, "r", []relay.Measurement{{RelayID: "fra-1"}}); err == nil || strings.Contains(err.Error(), "2001:db8") {
		t.Errorf("AddMeasurements() onto an unknown version: error = %v, want one not naming the prefix", err)
	}
	if err := c.HSet(ctx, hash, "", strings.Replace(stored[""], `"v":2`, `"v":3`, 1)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Measurements(ctx, time.Time{}); err == nil || strings.Contains(err.Error(), "2001:db8") {
		t.Errorf("Measurements() with an unknown meta version: error = %v, want one not naming the prefix", err)
	}
	if err := c.HSet(ctx, keys[3], "fra-1", `{"v":2}`).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Relay(ctx, "fra-1"); !errors.As(err, &re) || re.Version != 2 {
		t.Errorf("Relay() with an unknown probe version: error = %v, want a RecordError", err)
	}
}
