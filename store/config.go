package store

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MemoryConfig configures a Memory store. Its zero value works.
type MemoryConfig struct {
	// Now is the store's clock, stamping heartbeats and judging expiry;
	// default time.Now.
	Now func() time.Time
}

func (c MemoryConfig) withDefaults() MemoryConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// DefaultPrefix is the Redis key prefix used when RedisConfig.Prefix is empty.
const DefaultPrefix = "relaygate:"

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

	// Now is the store's clock, stamping heartbeats and judging expiry;
	// default time.Now. Gateways sharing a registry should have clocks in
	// step: each judges expiry by its own.
	Now func() time.Time

	// GCBatch is the most expired relays one heartbeat garbage-collects;
	// default 100, range 1..10000.
	GCBatch int
}

func (c RedisConfig) withDefaults() RedisConfig {
	c.Prefix = cmp.Or(c.Prefix, DefaultPrefix)
	c.GCBatch = cmp.Or(c.GCBatch, DefaultGCBatch)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate checks everything but URL, which OpenRedis parses.
func (c RedisConfig) validate() error {
	var errs []error
	if strings.ContainsAny(c.Prefix, "{}") {
		errs = append(errs, fmt.Errorf("prefix %q must not contain '{' or '}': %w", c.Prefix, ErrConfig))
	}
	if c.GCBatch < 1 || c.GCBatch > maxGCBatch {
		errs = append(errs, fmt.Errorf("gc batch %d out of range 1..%d: %w", c.GCBatch, maxGCBatch, ErrConfig))
	}
	return errors.Join(errs...)
}
