package storetest

import (
	"cmp"
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/store"
)

// RedisURL returns the test Redis, RELAYGATE_TEST_REDIS_URL, skipping the
// test when it is not set.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("RELAYGATE_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("RELAYGATE_TEST_REDIS_URL is not set")
	}
	return u
}

// KeyPrefix returns a Redis key prefix no other test uses.
func KeyPrefix(tb testing.TB) string {
	name := strings.NewReplacer("{", "(", "}", ")", " ", "_").Replace(tb.Name())
	return "relaygate-test:" + name + ":" + rand.Text()[:8] + ":"
}

// PrivacyKey is the store privacy key OpenRedis uses when the config has
// none.
var PrivacyKey = []byte("relaygate-test-privacy-key-0123")

// OpenRedis opens a store on the test Redis with cfg (its URL is
// RedisURL's, its PrivacyKey PrivacyKey when empty) and deletes the keys
// under cfg.Prefix when the test ends, through a client of its own so that
// it works even after the test has closed the store. Give each test its
// own prefix with KeyPrefix.
//
// With cfg.URL set it opens that Redis instead, one the test started and
// throws away (say with internal/testenv/redistest), and deletes nothing.
func OpenRedis(tb testing.TB, cfg store.RedisConfig) *store.Redis {
	tb.Helper()
	own := cfg.URL == ""
	if own {
		cfg.URL = RedisURL(tb)
	}
	if len(cfg.PrivacyKey) == 0 {
		cfg.PrivacyKey = PrivacyKey
	}
	s, err := store.OpenRedis(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("OpenRedis() error = %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if !own {
		return s
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		tb.Fatalf("ParseURL() error = %v", err)
	}
	prefix := cmp.Or(cfg.Prefix, store.DefaultPrefix)
	tb.Cleanup(func() {
		c := redis.NewClient(opts)
		defer c.Close()
		if err := deletePrefix(context.Background(), c, prefix); err != nil {
			tb.Errorf("delete test keys: %v", err)
		}
	})
	return s
}

// deletePrefix deletes every key that starts with prefix.
func deletePrefix(ctx context.Context, c *redis.Client, prefix string) error {
	pattern := globEscaper.Replace(prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// globEscaper quotes the characters SCAN's MATCH treats specially.
var globEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`)
