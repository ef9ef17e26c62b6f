package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

// Redis is a Registry kept in Redis, shared by every gateway that uses the
// same Redis and key prefix. Freshness is judged from each record's stored
// expiry and this store's clock; key layout and garbage collection are in
// the package doc. It is safe for concurrent use.
type Redis struct {
	client      redis.UniversalClient
	now         func() time.Time
	gcBatch     int
	agg         relay.AggregateConfig
	maxPrefixes int
	keys        redisKeys
	privacy     *keyring
	probeCursor atomic.Uint64 // where the next probe GC step resumes its HSCAN
	closed      atomic.Bool
}

var _ Registry = (*Redis)(nil)

// redisKeys are the keys of one prefix and replica. The registry's share
// the hash tag {registry}, so that scripts and transactions over them stay
// in one Cluster slot; the measurements index has a tag of its own, and
// each measured prefix's hash another (see the package doc).
type redisKeys struct {
	relays   string // hash: id → record JSON
	expiry   string // sorted set: id scored by expiry, Unix ms rounded up
	drain    string // hash: id → "1"
	probes   string // hash: id → this replica's probe JSON
	seq      string // counter: the change sequence, INCR'd by every relay write
	changes  string // sorted set: id scored by the sequence of its last record or drain change
	pchanges string // sorted set: id scored by the sequence of this replica's last probe view of it
	prefixes string // sorted set: prefix tag scored by its last measurement, Unix ms rounded down
	base     string // the key prefix: a measured prefix's hash is base + "{" + tag + "}:prefix"

	revocations string // hash: subject → revocation JSON; tag {revocations}
	revVersion  string // counter: INCR'd by every revocation write; tag {revocations}
}

func newRedisKeys(prefix, replica string) redisKeys {
	base := prefix + "{registry}:"
	return redisKeys{
		relays:   base + "relays",
		expiry:   base + "expiry",
		drain:    base + "drain",
		probes:   base + "probes:" + replica,
		seq:      base + "seq",
		changes:  base + "changes",
		pchanges: base + "changes:" + replica,
		prefixes: prefix + "{measured}:prefixes",
		base:     prefix,

		revocations: prefix + "{revocations}:subjects",
		revVersion:  prefix + "{revocations}:version",
	}
}

// all lists the fixed keys; each measured prefix adds a key of its own.
func (k redisKeys) all() []string {
	return []string{k.relays, k.expiry, k.drain, k.probes, k.prefixes, k.seq, k.changes, k.pchanges, k.revocations, k.revVersion}
}

// gcKeys are the KEYS of the scripts that end in gcLua.
func (k redisKeys) gcKeys() []string { return []string{k.relays, k.expiry, k.changes, k.pchanges} }

// prefixKey is the key of the hash that holds the aggregates of the
// prefix whose tag is tag. The tag is its hash tag, so prefixes spread
// over a Cluster's slots.
func (k redisKeys) prefixKey(tag string) string { return k.base + "{" + tag + "}:prefix" }

// OpenRedis connects to the Redis deployment cfg.URL names, checks it answers
// PING, and returns a store that owns the connection. Errors never contain
// the URL or its password.
func OpenRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		return nil, fmt.Errorf("redis url is empty: %w", ErrConfig)
	}
	client, err := newRedisClient(cfg.URL)
	if err != nil {
		return nil, err
	}
	s, err := newRedis(client, cfg)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = client.Close() // the ping error is the one worth reporting
		return nil, fmt.Errorf("open %w", err)
	}
	return s, nil
}

// NewRedis returns a store over an existing client, for callers that build
// their own (custom TLS, credentials providers). cfg.URL is ignored. The
// store takes ownership: its Close closes the client. It does not contact
// Redis; call Ping to check the connection.
func NewRedis(client redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	if client == nil {
		return nil, fmt.Errorf("redis client is nil: %w", ErrConfig)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newRedis(client, cfg)
}

// newRedis builds the store over client; cfg must have been validated.
func newRedis(client redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	privacy, err := newKeyring(cfg.PrivacyKey)
	if err != nil {
		return nil, err
	}
	return &Redis{
		client:      client,
		now:         cfg.Now,
		gcBatch:     cfg.GCBatch,
		agg:         cfg.Aggregate,
		maxPrefixes: cfg.MaxPrefixes,
		keys:        newRedisKeys(cfg.Prefix, cfg.Replica),
		privacy:     privacy,
	}, nil
}

// gcLua deletes up to ARGV[2] relays whose expiry score is at or before
// ARGV[1] (now, Unix ms rounded down), with their entries in the change
// sets (this replica's probe changes included; other replicas' go with
// their probe views). Scores are expiries rounded up, so a member it sees
// is truly expired; and since it runs atomically with every write, a relay
// re-heartbeated meanwhile has a later score and is left alone. KEYS:
// relays, expiry, changes, probe changes.
const gcLua = `
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(gone) do
	redis.call('HDEL', KEYS[1], id)
	redis.call('ZREM', KEYS[2], id)
	redis.call('ZREM', KEYS[3], id)
	redis.call('ZREM', KEYS[4], id)
end
return #gone
`

// collectScript is gcLua alone. KEYS: gcKeys. ARGV: now ms, batch.
var collectScript = redis.NewScript(gcLua)

// heartbeatScript writes one record and its expiry score together, takes
// the next change sequence for the relay, then collects garbage. When
// ARGV[6] is "1" (the relay reasserts its drain mark) and the relay has no
// fresh record (its expiry score is not after now), it first sets the drain
// mark. KEYS: gcKeys, seq, drain. ARGV: now ms, batch, id, record JSON,
// expiry ms, reasserted. Returns how many expired relays it removed.
var heartbeatScript = redis.NewScript(`
if ARGV[6] == '1' then
	local exp = redis.call('ZSCORE', KEYS[2], ARGV[3])
	if not exp or tonumber(exp) <= tonumber(ARGV[1]) then
		redis.call('HSET', KEYS[6], ARGV[3], '1')
	end
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[5]), ARGV[3])
` + gcLua)

// Heartbeat records r, stamping LastSeen and ExpiresAt from the store's clock,
// and garbage-collects a batch of expired relays in the same script.
func (s *Redis) Heartbeat(ctx context.Context, r relay.Relay, ttl time.Duration) error {
	if err := checkHeartbeat(r.ID, ttl); err != nil {
		return err
	}
	now := stamp(s.now)
	r.LastSeen = now
	r.ExpiresAt = now.Add(ttl)
	data, err := json.Marshal(newRecord(&r))
	if err != nil {
		return fmt.Errorf("redis heartbeat %q: encode: %w", r.ID, err)
	}
	reasserted := "0"
	if r.Drained {
		reasserted = "1"
	}
	err = heartbeatScript.Run(ctx, s.client, append(s.keys.gcKeys(), s.keys.seq, s.keys.drain),
		floorMS(now), s.gcBatch, r.ID, data, ceilMS(r.ExpiresAt), reasserted).Err()
	if err != nil {
		return s.fail(fmt.Sprintf("heartbeat %q", r.ID), err)
	}
	return nil
}

// Collect removes up to RedisConfig.GCBatch expired relays now and reports
// how many it removed. Heartbeats already do this; Collect is for a
// registry that no relay heartbeats into any more.
func (s *Redis) Collect(ctx context.Context) (int, error) {
	n, err := collectScript.Run(ctx, s.client, s.keys.gcKeys(),
		floorMS(stamp(s.now)), s.gcBatch).Int()
	if err != nil {
		return 0, s.fail("collect", err)
	}
	return n, nil
}

// Relay returns the fresh relay with that ID, its drain mark and this
// replica's probe view, or a NotFoundError.
func (s *Redis) Relay(ctx context.Context, id string) (relay.Relay, error) {
	var data, drain, probe *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		data = p.HGet(ctx, s.keys.relays, id)
		drain = p.HGet(ctx, s.keys.drain, id)
		probe = p.HGet(ctx, s.keys.probes, id)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return relay.Relay{}, s.fail(fmt.Sprintf("relay %q", id), err)
	}
	rec, err := s.fresh(fmt.Sprintf("relay %q", id), id, data)
	if err != nil {
		return relay.Relay{}, err
	}
	view, err := probe.Result()
	return s.assemble(&rec, drain.Err() == nil, view, err == nil)
}

// assemble is rec's relay with its drain mark and, when viewed, this
// replica's stored probe view (zero when older than ProbeMaxAge).
func (s *Redis) assemble(rec *record, drained bool, view string, viewed bool) (relay.Relay, error) {
	r := rec.relay()
	r.Drained = drained
	if !viewed {
		return r, nil
	}
	p, err := decodeProbe(rec.ID, []byte(view))
	if err != nil {
		return relay.Relay{}, err
	}
	if probeFresh(p, stamp(s.now)) {
		r.Probe = p
	}
	return r, nil
}

// fresh decodes the reply of HGET relays id and checks it has not expired.
func (s *Redis) fresh(op, id string, cmd *redis.StringCmd) (record, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return record{}, &NotFoundError{ID: id}
	}
	if err != nil {
		return record{}, s.fail(op, err)
	}
	rec, err := decodeRecord(id, b)
	if err != nil {
		return record{}, err
	}
	if !stamp(s.now).Before(rec.ExpiresAt) {
		return record{}, &NotFoundError{ID: id}
	}
	return rec, nil
}

// Relays returns every fresh relay with its drain mark and this replica's
// probe view, sorted by ID, read in one transaction so records, marks and
// views belong to the same moment.
func (s *Redis) Relays(ctx context.Context) ([]relay.Relay, error) {
	var data, drain, probes *redis.MapStringStringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		data = p.HGetAll(ctx, s.keys.relays)
		drain = p.HGetAll(ctx, s.keys.drain)
		probes = p.HGetAll(ctx, s.keys.probes)
		return nil
	})
	if err != nil {
		return nil, s.fail("relays", err)
	}
	now := stamp(s.now)
	marks, views := drain.Val(), probes.Val()
	out := make([]relay.Relay, 0, len(data.Val()))
	for id, raw := range data.Val() {
		rec, err := decodeRecord(id, []byte(raw))
		if err != nil {
			return nil, err
		}
		if !now.Before(rec.ExpiresAt) {
			continue
		}
		_, drained := marks[id]
		view, viewed := views[id]
		r, err := s.assemble(&rec, drained, view, viewed)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b relay.Relay) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// relaysSinceBatch is how many relays RelaysSince asks for per HMGET.
const relaysSinceBatch = 1000

// RelaysSince returns the relays whose record, drain mark or this replica's
// probe view changed after cursor, expired ones included, and the cursor
// for next time: the change sets are read in one transaction with the
// sequence, which becomes the next cursor, and the relays then in pipelined
// batches (so they may be newer than the cursor; the next call reads them
// again). Cursor 0, or a cursor ahead of the sequence (the keys were
// deleted), reads every stored relay.
func (s *Redis) RelaysSince(ctx context.Context, cursor uint64) ([]relay.Relay, uint64, error) {
	if cursor == 0 {
		return s.allRelays(ctx)
	}
	var changed, probed *redis.StringSliceCmd
	next, err := s.withSeq(ctx, func(p redis.Pipeliner) {
		by := &redis.ZRangeBy{Min: "(" + strconv.FormatUint(cursor, 10), Max: "+inf"}
		changed = p.ZRangeByScore(ctx, s.keys.changes, by)
		probed = p.ZRangeByScore(ctx, s.keys.pchanges, by)
	})
	if err != nil {
		return nil, 0, err
	}
	if next < cursor {
		return s.allRelays(ctx)
	}
	ids := changed.Val()
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		seen[id] = struct{}{}
	}
	for _, id := range probed.Val() {
		if _, ok := seen[id]; !ok {
			ids = append(ids, id)
		}
	}
	out := make([]relay.Relay, 0, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), relaysSinceBatch)]
		ids = ids[len(batch):]
		if out, err = s.relaysByID(ctx, batch, out); err != nil {
			return nil, 0, err
		}
	}
	return out, next, nil
}

// withSeq runs the reads that queue adds in one transaction with a read of
// the change sequence, and returns the sequence (0 before the first write):
// RelaysSince's next cursor.
func (s *Redis) withSeq(ctx context.Context, queue func(redis.Pipeliner)) (uint64, error) {
	var seq *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		queue(p)
		seq = p.Get(ctx, s.keys.seq)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, s.fail("relays since", err)
	}
	next, err := seq.Uint64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, s.fail("relays since", err)
	}
	return next, nil
}

// relaysByID appends to out the stored relays (expired or not) among ids,
// with drain marks and this replica's probe views. IDs with no record are
// skipped.
func (s *Redis) relaysByID(ctx context.Context, ids []string, out []relay.Relay) ([]relay.Relay, error) {
	var data, drain, probes *redis.SliceCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		data = p.HMGet(ctx, s.keys.relays, ids...)
		drain = p.HMGet(ctx, s.keys.drain, ids...)
		probes = p.HMGet(ctx, s.keys.probes, ids...)
		return nil
	})
	if err != nil {
		return nil, s.fail("relays since", err)
	}
	marks, views := drain.Val(), probes.Val()
	for i, v := range data.Val() {
		raw, ok := v.(string)
		if !ok {
			continue // gone
		}
		rec, err := decodeRecord(ids[i], []byte(raw))
		if err != nil {
			return nil, err
		}
		view, viewed := views[i].(string)
		r, err := s.assemble(&rec, marks[i] != nil, view, viewed)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// allRelays is RelaysSince(0): every stored relay, expired ones included,
// read in one transaction with the sequence.
func (s *Redis) allRelays(ctx context.Context) ([]relay.Relay, uint64, error) {
	var data, drain, probes *redis.MapStringStringCmd
	next, err := s.withSeq(ctx, func(p redis.Pipeliner) {
		data = p.HGetAll(ctx, s.keys.relays)
		drain = p.HGetAll(ctx, s.keys.drain)
		probes = p.HGetAll(ctx, s.keys.probes)
	})
	if err != nil {
		return nil, 0, err
	}
	marks, views := drain.Val(), probes.Val()
	out := make([]relay.Relay, 0, len(data.Val()))
	for id, raw := range data.Val() {
		rec, err := decodeRecord(id, []byte(raw))
		if err != nil {
			return nil, 0, err
		}
		_, drained := marks[id]
		view, viewed := views[id]
		r, err := s.assemble(&rec, drained, view, viewed)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, next, nil
}

// SetDrained sets or clears the drain mark of a fresh relay. The mark is
// kept apart from the record, so it outlives the relay's expiry.
func (s *Redis) SetDrained(ctx context.Context, id string, drained bool) error {
	op := fmt.Sprintf("set drained %q", id)
	if _, err := s.fresh(op, id, s.client.HGet(ctx, s.keys.relays, id)); err != nil {
		return err
	}
	mark := "0"
	if drained {
		mark = "1"
	}
	err := setDrainedScript.Run(ctx, s.client, []string{s.keys.drain, s.keys.changes, s.keys.seq}, id, mark).Err()
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// setDrainedScript sets (ARGV[2] "1") or clears the drain mark of relay
// ARGV[1] and takes the next change sequence for it. KEYS: drain, changes,
// seq.
var setDrainedScript = redis.NewScript(`
if ARGV[2] == '1' then
	redis.call('HSET', KEYS[1], ARGV[1], '1')
else
	redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
return 0
`)

// recordProbesScript writes probe views, scores each view's relay (when in
// the registry) with the next change sequence in this replica's probe
// changes, renews both keys' TTL, and takes one step of an HSCAN over the
// hash that deletes views older than the cutoff or of relays no longer in
// the registry (and those relays' probe changes). KEYS: probes, relays,
// probe changes, seq. ARGV: scan cursor, scan count, cutoff (Unix ms), key
// TTL (ms), then id, view JSON pairs. Returns the next scan cursor (0 when
// a pass is done). Views whose JSON it cannot read are left for the key's
// TTL: they may be a newer gateway's.
var recordProbesScript = redis.NewScript(`
local kv = {}
for i = 5, #ARGV do kv[#kv + 1] = ARGV[i] end
if #kv > 0 then
	redis.call('HSET', KEYS[1], unpack(kv))
	local seq
	for i = 5, #ARGV, 2 do
		if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
			seq = seq or redis.call('INCR', KEYS[4])
			redis.call('ZADD', KEYS[3], seq, ARGV[i])
		end
	end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
local r = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local cutoff = tonumber(ARGV[3])
local fields = r[2]
for i = 1, #fields, 2 do
	local ok, p = pcall(cjson.decode, fields[i + 1])
	if ok and type(p) == 'table' and p.v == 1 and type(p.probed_at_unix_ns) == 'number' then
		if p.probed_at_unix_ns / 1e6 < cutoff or redis.call('HEXISTS', KEYS[2], fields[i]) == 0 then
			redis.call('HDEL', KEYS[1], fields[i])
			redis.call('ZREM', KEYS[3], fields[i])
		end
	end
end
return r[1]
`)

// RecordProbes stores this replica's probe views in its own hash and, in
// the same script, garbage-collects a batch of views that are too old or
// whose relay is gone.
func (s *Redis) RecordProbes(ctx context.Context, probes map[string]relay.Probe) error {
	if err := checkProbes(probes); err != nil {
		return err
	}
	args := make([]any, 4, 4+2*len(probes))
	// A millisecond of slack: the script compares in floating point.
	args[0], args[1], args[2], args[3] = s.probeCursor.Load(), s.gcBatch,
		floorMS(stamp(s.now).Add(-ProbeMaxAge))-1, probeKeyTTL.Milliseconds()
	for id, p := range probes {
		data, err := encodeProbe(p)
		if err != nil {
			return fmt.Errorf("redis record probes %q: encode: %w", id, err)
		}
		args = append(args, id, data)
	}
	next, err := recordProbesScript.Run(ctx, s.client, []string{s.keys.probes, s.keys.relays, s.keys.pchanges, s.keys.seq}, args...).Text()
	if err != nil {
		return s.fail("record probes", err)
	}
	if c, err := strconv.ParseUint(next, 10, 64); err == nil {
		s.probeCursor.Store(c)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Redis) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// Client is the store's Redis client, for the gateway's other users of the
// same Redis (the shared rate limits). It stays the store's: Close closes it.
func (s *Redis) Client() redis.UniversalClient { return s.client }

// Close closes the Redis client. Closing twice is harmless.
func (s *Redis) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return s.fail("close", err)
	}
	return nil
}

// fail wraps a backend error with the operation. go-redis' "client is
// closed" becomes ErrClosed, as Memory reports it; an error that means
// Redis did not answer becomes an UnavailableError.
func (s *Redis) fail(op string, err error) error {
	switch {
	case errors.Is(err, redis.ErrClosed) || s.closed.Load():
		err = ErrClosed
	case redisUnavailable(err):
		err = &UnavailableError{Err: err}
	}
	return fmt.Errorf("redis %s: %w", op, err)
}

// floorMS is t in Unix milliseconds rounded down.
func floorMS(t time.Time) int64 { return floorDiv(t.UnixNano(), 1e6) }

// ceilMS is t in Unix milliseconds rounded up.
func ceilMS(t time.Time) int64 {
	ms := floorMS(t)
	if t.UnixNano()%1e6 != 0 {
		ms++
	}
	return ms
}
