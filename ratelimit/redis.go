package ratelimit

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RedisConfig configures a Redis limiter.
type RedisConfig struct {
	Config
	Client   redis.UniversalClient // required; the store's client will do. Not closed by the limiter
	Prefix   string                // start of every key after redis_rate's "rate:"; default "relaygate:"
	HashKey  []byte                // keys Redis key names (HMAC-SHA256), 16+ bytes, the same on every replica; required
	Interval time.Duration         // between syncs; default 50ms, 1ms..1s
	// MaxHold is how long a key far from its limit (fewer than a tenth of
	// its burst admitted since its last charge) may wait to be charged;
	// default 1s, Interval..10s. Keys nearer their limit are charged at the
	// next sync.
	MaxHold time.Duration
	Log     *slog.Logger // where Run reports failing syncs, at most once a minute; default discard
}

// minHashKey: a keyed hash needs a key nobody can guess.
const minHashKey = 16

// syncWorkers is how many keys one sync charges at once. go-redis'
// auto-pipeliner sends what is in flight together (up to 300 commands in
// one round trip by default), so this many concurrent calls make one
// pipeline rather than this many round trips.
const syncWorkers = 256

func (c RedisConfig) withDefaults() RedisConfig {
	c.Config = c.Config.withDefaults()
	c.Prefix = cmp.Or(c.Prefix, "relaygate:")
	c.Interval = cmp.Or(c.Interval, 50*time.Millisecond)
	c.MaxHold = cmp.Or(c.MaxHold, time.Second)
	c.Log = cmp.Or(c.Log, slog.New(slog.DiscardHandler))
	return c
}

func (c RedisConfig) validate() error {
	errs := []error{c.Config.validate()}
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("redis client is nil: %w", ErrConfig))
	}
	if len(c.HashKey) < minHashKey {
		errs = append(errs, fmt.Errorf("hash key shorter than %d bytes: %w", minHashKey, ErrConfig))
	}
	if c.Interval < time.Millisecond || c.Interval > time.Second {
		errs = append(errs, fmt.Errorf("sync interval %v out of range 1ms..1s: %w", c.Interval, ErrConfig))
	}
	if c.MaxHold < c.Interval || c.MaxHold > 10*time.Second {
		errs = append(errs, fmt.Errorf("max hold %v out of range %v..10s: %w", c.MaxHold, c.Interval, ErrConfig))
	}
	return errors.Join(errs...)
}

// Redis limits requests across every replica that shares its Redis and
// Prefix: it decides locally and reconciles with redis_rate's GCRA in
// Redis on every Sync (see the package doc for what that does to
// precision). Run syncs every Interval. It is safe for concurrent use.
type Redis struct {
	scopes   map[string]*scope // read-only after New
	now      func() time.Time
	gcra     *redis_rate.Limiter
	prefix   string
	hashKey  []byte
	interval time.Duration
	hold     int64 // MaxHold in syncs
	log      *slog.Logger
	syncs    atomic.Int64 // syncs begun: the clock of MaxHold

	syncMu sync.Mutex // one Sync at a time: an entry's Redis key and counts have one writer

	mu    sync.Mutex // guards below
	dirty []dirtyEntry
}

// dirtyEntry is a key with something to charge, and its scope.
type dirtyEntry struct {
	s *scope
	e *entry
}

// NewRedis returns a limiter over cfg.Client. It starts nothing and does
// not contact Redis until the first Sync.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// The auto-pipeliner batches the concurrent GCRA calls of a sync into
	// pipelines; it belongs to the client, which closes it.
	ap, err := cfg.Client.AutoPipeline()
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis auto-pipeline: %w", err)
	}
	m, err := NewMemory(cfg.Config)
	if err != nil {
		return nil, err
	}
	return &Redis{
		scopes: m.scopes, now: cfg.Now, gcra: redis_rate.NewLimiter(ap),
		prefix: cfg.Prefix, hashKey: cfg.HashKey, interval: cfg.Interval, log: cfg.Log,
		hold: int64((cfg.MaxHold + cfg.Interval - 1) / cfg.Interval),
	}, nil
}

// Allow spends one request of key's budget in scope, deciding locally.
// When it refuses, retry is how long until one more would be admitted.
func (r *Redis) Allow(scope, key string) (ok bool, retry time.Duration) {
	s := r.scopes[scope]
	if s == nil {
		return true, 0
	}
	e, ok, retry := s.allow(key, r.now())
	if ok {
		e.pending.Add(1)
		r.markDirty(s, e)
	}
	return ok, retry
}

// markDirty queues e for the next sync, once.
func (r *Redis) markDirty(s *scope, e *entry) {
	if e.dirty.Load() || !e.dirty.CompareAndSwap(false, true) {
		return
	}
	e.since.Store(r.syncs.Load())
	r.mu.Lock()
	r.dirty = append(r.dirty, dirtyEntry{s: s, e: e})
	r.mu.Unlock()
}

// Policy is scope's rule: quota requests per window; on is false when the
// scope admits everything.
func (r *Redis) Policy(scope string) (quota int, window time.Duration, on bool) {
	return policy(r.scopes, scope)
}

// Run syncs every Interval until ctx is done, then once more so that what
// was admitted last is charged; it returns nil. Sync errors are not fatal:
// the replica keeps deciding locally; Run logs them at most once a minute.
func (r *Redis) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	var lastLog time.Time
	for {
		select {
		case <-ctx.Done():
			r.finalSync(ctx)
			return nil
		case <-t.C:
			// Redis away: local limits hold meanwhile; the next sync tries again.
			if err := r.Sync(ctx); err != nil && ctx.Err() == nil && time.Since(lastLog) >= time.Minute {
				lastLog = time.Now()
				r.log.Warn("rate-limit sync failed: each replica limits on its own until Redis answers", "err", err)
			}
		}
	}
}

// finalSync charges what was admitted last, within a second of ctx ending.
func (r *Redis) finalSync(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = r.Sync(sctx) // best effort on the way out
}

// Sync charges to Redis what this replica admitted since the last sync,
// key by key, and lowers each local budget to what the shared budget has
// left. Keys the shared budget refused are refused here until a later sync
// charges them. A key whose charge fails is not charged again (its local
// rule still held); the first error is returned.
func (r *Redis) Sync(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	now := r.syncs.Add(1)
	r.mu.Lock()
	queued := r.dirty
	r.dirty = nil
	r.mu.Unlock()
	// Keys far from their limit wait up to MaxHold, so that a key used now
	// and then costs Redis one charge a second rather than one a sync.
	var batch, held []dirtyEntry
	for _, d := range queued {
		if d.e.debt.Load() > 0 || d.e.pending.Load() >= d.s.batch || now-d.e.since.Load() >= r.hold {
			batch = append(batch, d)
		} else {
			held = append(held, d)
		}
	}
	if len(held) > 0 {
		r.mu.Lock()
		r.dirty = append(r.dirty, held...)
		r.mu.Unlock()
	}
	if len(batch) == 0 {
		return nil
	}
	var (
		errOnce sync.Once
		first   error
		next    = make(chan dirtyEntry)
		wg      sync.WaitGroup
	)
	for range min(syncWorkers, len(batch)) {
		wg.Go(func() {
			for d := range next {
				if err := r.charge(ctx, d.s, d.e); err != nil {
					errOnce.Do(func() { first = err })
				}
			}
		})
	}
	for _, d := range batch {
		next <- d
	}
	close(next)
	wg.Wait()
	return first
}

// charge sends one key's count to the shared GCRA and applies the answer.
func (r *Redis) charge(ctx context.Context, s *scope, e *entry) error {
	e.dirty.Store(false) // admissions from here on queue the key again
	n := e.pending.Swap(0) + e.debt.Load()
	if n <= 0 {
		return nil
	}
	if e.rkey == "" {
		e.rkey = r.redisKey(s.name, e.key)
	}
	res, err := r.gcra.AllowAtMost(ctx, e.rkey, redis_rate.Limit{Rate: s.rule.Limit, Period: s.rule.Window, Burst: s.rule.Burst}, int(min(n, math.MaxInt32)))
	if err != nil {
		return fmt.Errorf("ratelimit: sync scope %s: %w", s.name, err)
	}
	now := r.now()
	debt := n - int64(res.Allowed)
	e.debt.Store(debt)
	if debt > 0 {
		lower(e, now, 0)
		r.markDirty(s, e) // keep charging until it is paid
		return nil
	}
	// What the shared budget has left, less what this replica admitted
	// while the answer was on its way.
	lower(e, now, int64(res.Remaining)-e.pending.Load())
	return nil
}

// lower takes tokens from e's local bucket until it holds at most target.
// It never adds: a local bucket is only ever stricter than the shared one.
func lower(e *entry, now time.Time, target int64) {
	target = max(target, 0)
	have := int64(math.Floor(e.lim.TokensAt(now)))
	if d := have - target; d > 0 {
		e.lim.AllowN(now, int(d))
	}
}

// redisKey is the key of one scope's budget for key: Prefix, "rl:", the
// scope, and a keyed hash of the key, never the key itself.
func (r *Redis) redisKey(scope, key string) string {
	mac := hmac.New(sha256.New, r.hashKey)
	mac.Write([]byte(scope))
	mac.Write([]byte{0})
	mac.Write([]byte(key))
	return r.prefix + "rl:" + scope + ":" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}
