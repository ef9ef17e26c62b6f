package store

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// newRedisClient builds the client that rawURL's scheme selects (see
// RedisConfig.URL). It starts nothing; go-redis dials on first use.
func newRedisClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redis url: no scheme (want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://): %w", ErrConfig)
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(scheme + "://" + rest)
		if err != nil {
			return nil, redactURLError(err, rawURL)
		}
		return redis.NewClient(o), nil

	case "redis+sentinel", "rediss+sentinel":
		o, err := redis.ParseFailoverURL(strings.TrimSuffix(scheme, "+sentinel") + "://" + rest)
		if err != nil {
			return nil, redactURLError(err, rawURL)
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("redis url: sentinel needs the master_name parameter: %w", ErrConfig)
		}
		if o.RouteByLatency || o.RouteRandomly {
			return redis.NewFailoverClusterClient(o), nil // reads may go to replicas, as go-redis' universal client does
		}
		return redis.NewFailoverClient(o), nil

	case "redis+cluster", "rediss+cluster":
		base := strings.TrimSuffix(scheme, "+cluster") + "://" + rest
		u, err := url.Parse(base)
		if err != nil {
			return nil, redactURLError(err, rawURL)
		}
		if strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("redis url: cluster takes no database path: %w", ErrConfig)
		}
		o, err := redis.ParseClusterURL(base)
		if err != nil {
			return nil, redactURLError(err, rawURL)
		}
		return redis.NewClusterClient(o), nil

	default:
		if !validScheme(scheme) { // a mangled URL may put user info here
			scheme = "?"
		}
		return nil, fmt.Errorf("redis url: unknown scheme %q (want redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster): %w", scheme, ErrConfig)
	}
}

// validScheme reports whether s is shaped like a URL scheme (RFC 3986 §3.1)
// and short, so it can be echoed without leaking a misplaced secret.
func validScheme(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// redactURLError turns a URL parsing error into a config error that
// repeats neither the URL (net/url quotes it whole) nor any secret in it.
func redactURLError(err error, rawURL string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	for _, secret := range urlSecrets(rawURL) {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	return fmt.Errorf("redis url: %s: %w", msg, ErrConfig)
}

// urlSecrets returns the parts of rawURL that may be secret: the user info
// and its password, and the values of query parameters named like
// passwords. It works on the raw text, so it also covers URLs that do not
// parse. Longest first, so a password inside the user info is replaced
// with it.
func urlSecrets(rawURL string) []string {
	var secrets []string
	_, rest, _ := strings.Cut(rawURL, "://")
	authority, query, _ := strings.Cut(rest, "?")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo := authority[:i]
		if j := strings.IndexByte(userinfo, '/'); j >= 0 {
			userinfo = userinfo[:j] // a path with '@' in it, not user info
		}
		secrets = append(secrets, userinfo)
		if _, pw, ok := strings.Cut(userinfo, ":"); ok {
			secrets = append(secrets, pw)
			if dec, err := url.PathUnescape(pw); err == nil {
				secrets = append(secrets, dec)
			}
		}
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if strings.Contains(strings.ToLower(k), "password") {
			secrets = append(secrets, v)
			if dec, err := url.QueryUnescape(v); err == nil {
				secrets = append(secrets, dec)
			}
		}
	}
	secrets = slices.DeleteFunc(secrets, func(s string) bool { return s == "" })
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return secrets
}
