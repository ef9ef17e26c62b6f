package ratelimit

import "errors"

// ErrRule is wrapped by every error about a malformed or out-of-range rule.
var ErrRule = errors.New("ratelimit: invalid rule")

// ErrConfig is wrapped by every error about a Config or RedisConfig.
var ErrConfig = errors.New("ratelimit: invalid config")
