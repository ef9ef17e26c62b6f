package store

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// MemoryConfig configures a Memory store. Its zero value works.
type MemoryConfig struct {
	// Now is the store's clock, stamping heartbeats and measurements and
	// judging expiry; default time.Now.
	Now func() time.Time

	// Replica names this gateway replica's probe view; default "default".
	// A Memory store serves one process, so it keeps one view; the name
	// is checked like RedisConfig.Replica so that configs move between
	// the two unchanged.
	Replica string

	// Aggregate says how client measurements are folded, trusted and
	// expired; zero fields take relay.AggregateConfig's defaults.
	Aggregate relay.AggregateConfig

	// MaxPrefixes is the most client prefixes kept; beyond it the least
	// recently measured are evicted. Default 1,000,000, range 1..100,000,000.
	MaxPrefixes int
}

func (c MemoryConfig) withDefaults() MemoryConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Replica = cmp.Or(c.Replica, DefaultReplica)
	c.Aggregate = c.Aggregate.WithDefaults()
	c.MaxPrefixes = cmp.Or(c.MaxPrefixes, DefaultMaxPrefixes)
	return c
}

// validate checks the settings every store shares; RedisConfig's validate
// calls it for its own copy of them.
func (c MemoryConfig) validate() error {
	return errors.Join(validateReplica(c.Replica), validateMeasurements(c.Aggregate, c.MaxPrefixes))
}

// DefaultPrefix is the Redis key prefix used when RedisConfig.Prefix is empty.
const DefaultPrefix = "relaygate:"

// DefaultReplica is the Replica of a config that names none: right for a
// single gateway, wrong for several sharing a Redis (they would overwrite
// one another's probe views).
const DefaultReplica = "default"

// maxReplicaLen bounds Replica: it is part of a Redis key, and a pod or
// host name fits easily.
const maxReplicaLen = 64

// DefaultMaxPrefixes is the default MaxPrefixes. A million /24s and /48s
// cover a large service's clients; with a few relays each that is a few
// hundred megabytes in Redis, the most a registry should hold.
const DefaultMaxPrefixes = 1_000_000

// maxMaxPrefixes bounds MaxPrefixes, so a typo cannot disable the cap.
const maxMaxPrefixes = 100_000_000

// minMaxAge is the shortest Aggregate.MaxAge accepted: Redis expires
// measurement keys after MaxAge as garbage collection, in whole
// milliseconds, and a measurement kept for less than a second is useless.
const minMaxAge = time.Second

// DefaultGCBatch is RedisConfig.GCBatch's default. One heartbeat script
// removes at most this many expired relays, so a mass expiry of thousands
// of relays never blocks Redis for long, while steady heartbeats from a few
// relays still clear any backlog within a few seconds.
const DefaultGCBatch = 100

// maxGCBatch bounds GCBatch: a Lua script blocks the whole Redis server
// while it runs, so one run must stay short.
const maxGCBatch = 10_000

// RedisConfig configures a Redis store.
type RedisConfig struct {
	// URL selects the Redis deployment and how to reach it; required by
	// OpenRedis, ignored by NewRedis. Accepted forms (see the package doc):
	//
	//	redis://[user:password@]host[:port][/db][?opts]       standalone
	//	rediss://[user:password@]host[:port][/db][?opts]      standalone, TLS
	//	unix://[user:password@]/path/redis.sock[?db=N]        standalone, Unix socket
	//	redis+sentinel://[user:pw@]host:port[/db]?master_name=M[&addr=h2:p2...]   Sentinel
	//	rediss+sentinel://...                                 Sentinel, TLS
	//	redis+cluster://[user:password@]host:port[?addr=h2:p2...]                 Cluster
	//	rediss+cluster://...                                  Cluster, TLS
	//
	// It usually holds a password, so it is never echoed in errors.
	URL string

	// Prefix starts every key this store uses; default "relaygate:".
	// Gateways that share a registry use the same prefix. It must not
	// contain '{' or '}', which would change the keys' Cluster hash tag.
	Prefix string

	// Now is the store's clock, stamping heartbeats and measurements and
	// judging expiry; default time.Now. Gateways sharing a registry should
	// have clocks in step (well within CursorOverlap): each judges expiry
	// by its own.
	Now func() time.Time

	// GCBatch is the most expired relays one heartbeat garbage-collects,
	// and the most stale prefixes or probe entries one write looks at;
	// default 100, range 1..10000.
	GCBatch int

	// Replica names this gateway replica; its probe view is kept apart
	// from other replicas'. Default "default"; 1 to 64 letters, digits,
	// '.', '_' or '-' (a host or pod name fits). Every gateway sharing a
	// registry needs its own.
	Replica string

	// Aggregate says how client measurements are folded, trusted and
	// expired; zero fields take relay.AggregateConfig's defaults.
	// Gateways sharing a registry must agree on it.
	Aggregate relay.AggregateConfig

	// MaxPrefixes is the most client prefixes kept; beyond it the least
	// recently measured are evicted. Default 1,000,000, range 1..100,000,000.
	MaxPrefixes int

	// PrivacyKey keys what keeps client prefixes and reporters out of
	// Redis: the HMAC that names each prefix's keys and stands for each
	// reporter, and the cipher that seals the prefix itself so that the
	// store can give it back. Required, at least MinPrivacyKeyLen bytes,
	// and the same on every gateway sharing the registry (a gateway with
	// another key fails to read their measurements). Changing it abandons
	// the stored measurements, which expire within Aggregate.MaxAge. It
	// is never echoed in errors.
	PrivacyKey []byte
}

func (c RedisConfig) withDefaults() RedisConfig {
	c.Prefix = cmp.Or(c.Prefix, DefaultPrefix)
	c.GCBatch = cmp.Or(c.GCBatch, DefaultGCBatch)
	shared := c.shared().withDefaults()
	c.Now, c.Replica, c.Aggregate, c.MaxPrefixes = shared.Now, shared.Replica, shared.Aggregate, shared.MaxPrefixes
	return c
}

// shared is the part of c that a Memory store takes too, so that both
// stores default and check it alike.
func (c RedisConfig) shared() MemoryConfig {
	return MemoryConfig{Now: c.Now, Replica: c.Replica, Aggregate: c.Aggregate, MaxPrefixes: c.MaxPrefixes}
}

// validate checks everything but URL, which OpenRedis parses.
func (c RedisConfig) validate() error {
	var errs []error
	if strings.ContainsAny(c.Prefix, "{}") {
		errs = append(errs, fmt.Errorf("prefix %q must not contain '{' or '}': %w", c.Prefix, ErrConfig))
	}
	if len(c.PrivacyKey) < MinPrivacyKeyLen {
		errs = append(errs, fmt.Errorf("privacy key of %d bytes, at least %d: %w", len(c.PrivacyKey), MinPrivacyKeyLen, ErrConfig))
	}
	if c.GCBatch < 1 || c.GCBatch > maxGCBatch {
		errs = append(errs, fmt.Errorf("gc batch %d out of range 1..%d: %w", c.GCBatch, maxGCBatch, ErrConfig))
	}
	errs = append(errs, c.shared().validate())
	return errors.Join(errs...)
}

// validateReplica checks that a replica name is a short slug.
func validateReplica(r string) error {
	ok := r != "" && len(r) <= maxReplicaLen
	for _, c := range r {
		if !ok {
			break
		}
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		if len(r) > maxReplicaLen {
			r = r[:maxReplicaLen] + "…"
		}
		return fmt.Errorf("replica %q must be 1 to %d letters, digits, '.', '_' or '-': %w", r, maxReplicaLen, ErrConfig)
	}
	return nil
}

// validateMeasurements checks the measurement settings after defaults.
func validateMeasurements(a relay.AggregateConfig, maxPrefixes int) error {
	var errs []error
	if a.HalfLife <= 0 {
		errs = append(errs, fmt.Errorf("aggregate half-life %v must be positive: %w", a.HalfLife, ErrConfig))
	}
	if a.MinReporters < 1 || a.MinReporters > relay.MaxReporters {
		errs = append(errs, fmt.Errorf("aggregate min reporters %d out of range 1..%d: %w", a.MinReporters, relay.MaxReporters, ErrConfig))
	}
	if a.MaxAge < minMaxAge {
		errs = append(errs, fmt.Errorf("aggregate max age %v must be at least %v: %w", a.MaxAge, minMaxAge, ErrConfig))
	}
	if maxPrefixes < 1 || maxPrefixes > maxMaxPrefixes {
		errs = append(errs, fmt.Errorf("max prefixes %d out of range 1..%d: %w", maxPrefixes, maxMaxPrefixes, ErrConfig))
	}
	return errors.Join(errs...)
}
