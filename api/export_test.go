package api

import (
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Router exposes the chi router so tests can walk it against the spec.
func (a *Server) Router() chi.Routes { return a.s.handler.(chi.Routes) }

// RateLimited is the counter of requests scope refused.
func (m *Metrics) RateLimited(scope string) prometheus.Counter {
	return m.rateLimited.WithLabelValues(scope)
}
