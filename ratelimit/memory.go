package ratelimit

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Config configures a Memory limiter; the zero value limits nothing.
type Config struct {
	Rules   map[string]Rule  // by scope; a scope not listed, or off, admits everything
	MaxKeys int              // keys remembered per scope; default 65,536 (about 10 MiB per busy scope)
	Now     func() time.Time // default time.Now
}

// defaultMaxKeys bounds each scope's memory: an entry is about 150 bytes
// plus its key, and 65,536 live keys is more distinct subjects or prefixes
// than one gateway serves within any rule's window.
const defaultMaxKeys = 1 << 16

func (c Config) withDefaults() Config {
	c.MaxKeys = cmp.Or(c.MaxKeys, defaultMaxKeys)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.MaxKeys < 1 {
		errs = append(errs, fmt.Errorf("max keys %d must be positive: %w", c.MaxKeys, ErrConfig))
	}
	for name, r := range c.Rules {
		if err := r.withDefaults().validate(); err != nil {
			errs = append(errs, fmt.Errorf("scope %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Memory limits requests in this process only. It is safe for concurrent
// use.
type Memory struct {
	scopes map[string]*scope // read-only after New
	now    func() time.Time
}

// NewMemory returns a limiter with cfg's rules. It starts nothing.
func NewMemory(cfg Config) (*Memory, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Memory{scopes: make(map[string]*scope, len(cfg.Rules)), now: cfg.Now}
	for name, r := range cfg.Rules {
		if r.Off() {
			continue
		}
		m.scopes[name] = newScope(name, r.withDefaults(), cfg.MaxKeys)
	}
	return m, nil
}

// Allow spends one request of key's budget in scope. When it refuses, retry
// is how long until one more request would be admitted.
func (m *Memory) Allow(scope, key string) (ok bool, retry time.Duration) {
	s := m.scopes[scope]
	if s == nil {
		return true, 0
	}
	_, ok, retry = s.allow(key, m.now())
	return ok, retry
}

// Policy is scope's rule: quota requests per window; on is false when the
// scope admits everything.
func (m *Memory) Policy(scope string) (quota int, window time.Duration, on bool) {
	return policy(m.scopes, scope)
}

func policy(scopes map[string]*scope, name string) (int, time.Duration, bool) {
	s := scopes[name]
	if s == nil {
		return 0, 0, false
	}
	return s.rule.Limit, s.rule.Window, true
}

// scope holds the budgets of one rule, one entry per key.
type scope struct {
	name     string
	rule     Rule
	interval time.Duration // the time one request's budget takes to refill
	batch    int64         // admissions that get a key charged at the next sync: a tenth of the burst
	keys     *lru.Cache[string, *entry]
}

func newScope(name string, r Rule, maxKeys int) *scope {
	keys, err := lru.New[string, *entry](maxKeys)
	if err != nil { // only for a size < 1, which validate refuses
		panic(err)
	}
	return &scope{name: name, rule: r, interval: r.Window / time.Duration(r.Limit), batch: max(1, int64(r.Burst)/10), keys: keys}
}

// entry is one key's budget. Memory uses lim only; Redis also counts what
// it admitted since its last sync and what the shared budget still owes.
type entry struct {
	key     string
	lim     *rate.Limiter
	pending atomic.Int64 // admitted here, not yet charged to Redis
	debt    atomic.Int64 // admitted here, refused by the shared budget: to be charged before more is admitted
	dirty   atomic.Bool  // queued for a sync
	since   atomic.Int64 // the sync count when it was queued
	rkey    string       // the Redis key, made by the sync goroutine on first use
}

// allow decides one request for key at now, and returns its entry.
func (s *scope) allow(key string, now time.Time) (*entry, bool, time.Duration) {
	e, ok := s.keys.Get(key)
	if !ok {
		e = &entry{key: key, lim: rate.NewLimiter(s.rule.every(), s.rule.Burst)}
		if prev, ok, _ := s.keys.PeekOrAdd(key, e); ok {
			e = prev // another request added it meanwhile
		}
	}
	if d := e.debt.Load(); d > 0 {
		return e, false, time.Duration(min(d, math.MaxInt64/int64(s.interval))) * s.interval
	}
	if e.lim.AllowN(now, 1) {
		return e, true, 0
	}
	return e, false, s.wait(e.lim.TokensAt(now))
}

// wait is how long a bucket holding tokens takes to hold one.
func (s *scope) wait(tokens float64) time.Duration {
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) * float64(s.interval)))
}
