package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/selector"
)

// Redis is a Registry kept in Redis, shared by every gateway that uses the
// same Redis and key prefix. Freshness is judged from each record's stored
// expiry and this store's clock; key layout and garbage collection are in
// the package doc. It is safe for concurrent use.
type Redis struct {
	client  redis.UniversalClient
	now     func() time.Time
	gcBatch int
	keys    redisKeys
	closed  atomic.Bool
}

var _ Registry = (*Redis)(nil)

// redisKeys are the keys of one prefix. They share the hash tag {registry}
// so that scripts and transactions over them stay in one Cluster slot.
type redisKeys struct {
	relays string // hash: id → record JSON
	expiry string // sorted set: id scored by expiry, Unix ms rounded up
	drain  string // hash: id → "1"
}

func newRedisKeys(prefix string) redisKeys {
	base := prefix + "{registry}:"
	return redisKeys{relays: base + "relays", expiry: base + "expiry", drain: base + "drain"}
}

func (k redisKeys) all() []string { return []string{k.relays, k.expiry, k.drain} }

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
	s := newRedis(client, cfg)
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
	return newRedis(client, cfg), nil
}

func newRedis(client redis.UniversalClient, cfg RedisConfig) *Redis {
	return &Redis{client: client, now: cfg.Now, gcBatch: cfg.GCBatch, keys: newRedisKeys(cfg.Prefix)}
}

// gcLua deletes up to ARGV[2] relays whose expiry score is at or before
// ARGV[1] (now, Unix ms rounded down). Scores are expiries rounded up, so a
// member it sees is truly expired; and since it runs atomically with every
// write, a relay re-heartbeated meanwhile has a later score and is left alone.
const gcLua = `
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(gone) do
	redis.call('HDEL', KEYS[1], id)
	redis.call('ZREM', KEYS[2], id)
end
return #gone
`

// collectScript is gcLua alone. KEYS: relays, expiry. ARGV: now ms, batch.
var collectScript = redis.NewScript(gcLua)

// heartbeatScript writes one record and its expiry score together, then
// collects garbage. KEYS: relays, expiry. ARGV: now ms, batch, id, record
// JSON, expiry ms. Returns how many expired relays it removed.
var heartbeatScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
` + gcLua)

// Heartbeat records r, stamping LastSeen and ExpiresAt from the store's clock,
// and garbage-collects a batch of expired relays in the same script.
func (s *Redis) Heartbeat(ctx context.Context, r selector.Relay, ttl time.Duration) error {
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
	err = heartbeatScript.Run(ctx, s.client, []string{s.keys.relays, s.keys.expiry},
		floorMS(now), s.gcBatch, r.ID, data, ceilMS(r.ExpiresAt)).Err()
	if err != nil {
		return s.fail(fmt.Sprintf("heartbeat %q", r.ID), err)
	}
	return nil
}

// Collect removes up to RedisConfig.GCBatch expired relays now and reports
// how many it removed. Heartbeats already do this; Collect is for a
// registry that no relay heartbeats into any more.
func (s *Redis) Collect(ctx context.Context) (int, error) {
	n, err := collectScript.Run(ctx, s.client, []string{s.keys.relays, s.keys.expiry},
		floorMS(stamp(s.now)), s.gcBatch).Int()
	if err != nil {
		return 0, s.fail("collect", err)
	}
	return n, nil
}

// Relay returns the fresh relay with that ID and its drain mark, or a
// NotFoundError.
func (s *Redis) Relay(ctx context.Context, id string) (selector.Relay, error) {
	var data, drain *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		data = p.HGet(ctx, s.keys.relays, id)
		drain = p.HGet(ctx, s.keys.drain, id)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return selector.Relay{}, s.fail(fmt.Sprintf("relay %q", id), err)
	}
	rec, err := s.fresh(fmt.Sprintf("relay %q", id), id, data)
	if err != nil {
		return selector.Relay{}, err
	}
	r := rec.relay()
	r.Drained = drain.Err() == nil
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

// Relays returns every fresh relay with its drain mark, sorted by ID, read
// in one transaction so records and marks belong to the same moment.
func (s *Redis) Relays(ctx context.Context) ([]selector.Relay, error) {
	var data, drain *redis.MapStringStringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		data = p.HGetAll(ctx, s.keys.relays)
		drain = p.HGetAll(ctx, s.keys.drain)
		return nil
	})
	if err != nil {
		return nil, s.fail("relays", err)
	}
	now := stamp(s.now)
	marks := drain.Val()
	out := make([]selector.Relay, 0, len(data.Val()))
	for id, raw := range data.Val() {
		rec, err := decodeRecord(id, []byte(raw))
		if err != nil {
			return nil, err
		}
		if !now.Before(rec.ExpiresAt) {
			continue
		}
		r := rec.relay()
		_, r.Drained = marks[id]
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b selector.Relay) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// SetDrained sets or clears the drain mark of a fresh relay. The mark is
// kept apart from the record, so it outlives the relay's expiry.
func (s *Redis) SetDrained(ctx context.Context, id string, drained bool) error {
	op := fmt.Sprintf("set drained %q", id)
	if _, err := s.fresh(op, id, s.client.HGet(ctx, s.keys.relays, id)); err != nil {
		return err
	}
	var err error
	if drained {
		err = s.client.HSet(ctx, s.keys.drain, id, "1").Err()
	} else {
		err = s.client.HDel(ctx, s.keys.drain, id).Err()
	}
	if err != nil {
		return s.fail(op, err)
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
// closed" becomes ErrClosed, as Memory reports it.
func (s *Redis) fail(op string, err error) error {
	if errors.Is(err, redis.ErrClosed) || s.closed.Load() {
		err = ErrClosed
	}
	return fmt.Errorf("redis %s: %w", op, err)
}

// floorMS is t in Unix milliseconds rounded down.
func floorMS(t time.Time) int64 {
	ns := t.UnixNano()
	ms := ns / 1e6
	if ns%1e6 < 0 {
		ms--
	}
	return ms
}

// ceilMS is t in Unix milliseconds rounded up.
func ceilMS(t time.Time) int64 {
	ms := floorMS(t)
	if t.UnixNano()%1e6 != 0 {
		ms++
	}
	return ms
}
