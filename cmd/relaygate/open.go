package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/geoip"
	"github.com/relaygate/relaygate/ratelimit"
	"github.com/relaygate/relaygate/staticrelay"
	"github.com/relaygate/relaygate/store"
)

func openStore(ctx context.Context, cfg config, log *slog.Logger) (store.Registry, error) {
	if cfg.RedisURL == "" {
		return store.NewMemory(store.MemoryConfig{Replica: cfg.Replica})
	}
	redis.SetLogger(redisLog{log: log.With("component", "redis")})
	r, err := store.OpenRedis(ctx, store.RedisConfig{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, Replica: cfg.Replica,
		PrivacyKey: storePrivacyKey(cfg.PseudonymKey)})
	if err != nil {
		return nil, err
	}
	log.Info("registry in redis", "prefix", cfg.RedisPrefix, "replica", cfg.Replica)
	return r, nil
}

// storePrivacyKey derives the Redis store's privacy key (what hides client
// prefixes and reporters in Redis) from the pseudonym key, which every
// replica shares: one-way, so Redis's key reveals nothing of the pseudonyms'.
func storePrivacyKey(pseudonymKey []byte) []byte {
	h := hmac.New(sha256.New, pseudonymKey)
	h.Write([]byte("relaygate redis privacy key v1"))
	return h.Sum(nil)
}

// openGeoIP opens --geoip-db, or says once that ranking runs without it.
func openGeoIP(cfg config, log *slog.Logger) (*geoip.DB, error) {
	if cfg.GeoIPDB == "" {
		log.Info("no --geoip-db: clients are not located; relays are ranked by measurements and load only")
		return nil, nil
	}
	return geoip.Open(cfg.GeoIPDB, log.With("component", "geoip"))
}

// openStatic reads --static-relays into gw, when set, and returns the
// watcher that follows the file (nil without one). A bad file stops the
// start: there is no last good version to keep yet.
func openStatic(cfg config, locator *geoip.DB, gw *gateway.Gateway, log *slog.Logger) (*staticrelay.Watcher, error) {
	if cfg.StaticRelays == "" {
		return nil, nil
	}
	var loc staticrelay.Locator
	if locator != nil {
		loc = locator // never a typed nil in the interface
	}
	w, err := staticrelay.New(staticrelay.Config{Path: cfg.StaticRelays}, loc, gw.SetStatic, log.With("component", "static_relays"))
	if err != nil {
		return nil, fmt.Errorf("--static-relays: %w", err)
	}
	log.Info("static relays loaded", "path", cfg.StaticRelays, "relays", w.Len())
	return w, nil
}

// redisLog sends go-redis' own messages (pool dial failures and the like)
// to our JSON log instead of its default stderr logger. They name Redis
// servers, which are ours, never clients.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}

// openLimiter builds the rate limits: shared through the store's Redis
// when there is one (run then syncs it until ctx ends), else in memory
// (run is nil).
func openLimiter(cfg config, reg store.Registry, log *slog.Logger) (api.Limiter, func(context.Context) error, error) {
	rc := ratelimit.Config{Rules: cfg.Rates}
	if r, ok := reg.(*store.Redis); ok {
		l, err := ratelimit.NewRedis(ratelimit.RedisConfig{Config: rc, Client: r.Client(), Prefix: cfg.RedisPrefix,
			HashKey: rateHashKey(cfg.PseudonymKey), Log: log.With("component", "ratelimit")})
		if err != nil {
			return nil, nil, err
		}
		return l, l.Run, nil
	}
	l, err := ratelimit.NewMemory(rc)
	return l, nil, err
}

// rateHashKey is the key that hides subjects and prefixes in rate-limit
// key names: derived from the pseudonym key, so every replica has the same
// one, yet never equal to a pseudonym.
func rateHashKey(pseudonymKey []byte) []byte {
	mac := hmac.New(sha256.New, pseudonymKey)
	mac.Write([]byte("relaygate rate-limit keys"))
	return mac.Sum(nil)
}
