package api

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Rate-limit scopes: which budget a request spends. Each is a bounded
// metric label and the policy name in the RateLimit header fields.
const (
	scopeUser         = "user"         // a user token's subject, on POST /v1/credentials and GET /v1/turn
	scopePrefix       = "prefix"       // a client prefix (/24, /48), on every user endpoint
	scopeMeasurements = "measurements" // a user token's subject, on POST /v1/measurements: one reporter's weight
	scopeRelay        = "relay"        // a node token's subject (the relay id), on heartbeats
	scopeCalls        = "calls"        // a user token's subject, on GET /v1/call-relays: calls watching their relays
)

// limitScope is one scope a route spends from, with its RateLimit-Policy
// field value made once.
type limitScope struct {
	name   string
	byAddr bool     // keyed by the client prefix, else by the token subject
	policy []string // RateLimit-Policy value, e.g. `"user";q=60;w=60`
}

// limit returns middleware that spends one request from each of scopes'
// budgets, in order, and answers 429 at the first that refuses. It runs
// after require, which sets the subject. Scopes the limiter has off (or no
// limiter) are skipped.
func (s *server) limit(names ...string) func(http.Handler) http.Handler {
	var scopes []limitScope
	if s.deps.Limiter != nil {
		for _, name := range names {
			q, w, on := s.deps.Limiter.Policy(name)
			if !on {
				continue
			}
			scopes = append(scopes, limitScope{name: name, byAddr: name == scopePrefix, policy: []string{
				strconv.Quote(name) + ";q=" + strconv.Itoa(q) + ";w=" + strconv.FormatInt(int64(math.Ceil(w.Seconds())), 10),
			}})
		}
	}
	return func(next http.Handler) http.Handler {
		if len(scopes) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := range scopes {
				sc := &scopes[i]
				var key string
				if sc.byAddr {
					p := s.clientOf(r).Prefix
					if !p.IsValid() {
						continue // no client address to key by
					}
					key = p.String()
				} else {
					key = subjectFrom(r.Context())
				}
				if ok, retry := s.deps.Limiter.Allow(sc.name, key); !ok {
					s.metrics.rateLimited.WithLabelValues(sc.name).Inc()
					s.tooMany(w, r, sc, retry)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// tooMany answers 429 with Retry-After (RFC 9110 §10.2.3) and the RateLimit
// and RateLimit-Policy fields of draft-ietf-httpapi-ratelimit-headers-12:
// the refusing scope's quota and window, nothing left of it, and the
// seconds until one more request is admitted.
func (s *server) tooMany(w http.ResponseWriter, r *http.Request, sc *limitScope, retry time.Duration) {
	secs := strconv.FormatInt(max(1, int64(math.Ceil(retry.Seconds()))), 10)
	h := w.Header()
	h["Retry-After"] = []string{secs}
	h["Ratelimit-Policy"] = sc.policy
	h["Ratelimit"] = []string{strconv.Quote(sc.name) + ";r=0;t=" + secs}
	s.problem(w, r, &httpError{status: http.StatusTooManyRequests, typ: "rate-limited",
		detail: limitDetail(sc.name) + "; retry after " + secs + " s"})
}

// limitDetail says whose budget ran out, naming no key.
func limitDetail(scope string) string {
	switch scope {
	case scopeUser:
		return "too many requests for this token"
	case scopePrefix:
		return "too many requests from this network"
	case scopeMeasurements:
		return "too many measurement reports for this token"
	case scopeRelay:
		return "too many heartbeats for this relay"
	}
	return "too many requests"
}
