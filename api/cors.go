package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// corsPaths are the endpoints a web app calls from its own origin: the
// credential, candidate and measurement endpoints and the client module. Relay and
// operator endpoints never answer cross-origin requests.
var corsPaths = []string{"/v1/credentials", "/v1/turn", "/v1/candidates", "/v1/measurements", "/v1/call-relays", "/client/"}

func isCORSPath(p string) bool {
	for _, c := range corsPaths {
		if p == c || (strings.HasSuffix(c, "/") && strings.HasPrefix(p, c)) {
			return true
		}
	}
	return false
}

// validOrigins checks --cors-origins: "*" or scheme://host[:port] each.
func validOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("CORS origin %q: want * or scheme://host[:port]", o)
		}
	}
	return nil
}

// withCORS answers CORS, preflight included, for the origins configured,
// on corsPaths only. Tokens travel in the Authorization header, never in
// cookies, so credentials mode is never allowed and "*" is safe.
func (s *server) withCORS(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	origins := make([]string, len(s.cfg.CORSOrigins))
	for i, o := range s.cfg.CORSOrigins {
		origins[i] = strings.TrimSuffix(o, "/")
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		ExposedHeaders: []string{"X-Request-Id"},
		MaxAge:         600,
	})
	h := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isCORSPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
