package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// routes lists every endpoint in one place. openapi.yaml must list the same
// ones; TestRoutesMatchSpec holds the two together.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.withRequestID, s.accessLog, s.withCORS, s.withClient)
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		writeProblem(w, req, &httpError{status: http.StatusNotFound, typ: "not-found", detail: "no endpoint at this path"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		writeProblem(w, req, &httpError{status: http.StatusMethodNotAllowed, typ: "method-not-allowed",
			detail: "this path does not take " + req.Method, allow: allowed(r, req.URL.Path)})
	})

	r.Get("/healthz", s.getHealthz)
	r.Get("/readyz", s.getReadyz)
	r.Get("/metrics", s.getMetrics)
	r.Get("/openapi.yaml", s.getSpec)
	r.Method(http.MethodGet, "/client/relaygate.js", clientJS)
	r.Method(http.MethodGet, "/client/relaygate.d.ts", clientTS)
	r.Method(http.MethodGet, "/demo", demoAsset{demoHTML})
	r.Method(http.MethodGet, "/demo/demo.js", demoAsset{demoJS})
	r.Method(http.MethodGet, "/demo/demo.css", demoAsset{demoCSS})
	if s.cfg.Demo {
		r.Get("/demo/token", s.getDemoToken)
	}
	docs := s.docs()
	r.Handle("/docs", docs)
	r.Handle("/docs/*", docs)

	// Full paths rather than a /v1 subrouter: a request then crosses one
	// routing tree, and its route pattern (in every log line and metric)
	// is the one registered here, not a join made per request.
	// Rate limits count requests whose token verified, so the subject
	// keys them; credentials and TURN share the subject's budget.
	user := s.limit(scopeUser, scopePrefix)
	r.With(s.require(roleUser), user).Post("/v1/credentials", s.postCredentials)
	r.With(s.require(roleUser), user).Get("/v1/turn", s.getTURN)
	r.With(s.require(roleUser), user).Get("/v1/candidates", s.getCandidates)
	r.With(s.require(roleUser), s.limit(scopeMeasurements, scopePrefix)).Post("/v1/measurements", s.postMeasurements)
	r.With(s.require(roleUser), s.limit(scopeCalls, scopePrefix)).Get("/v1/call-relays", s.getCallRelays)
	r.With(s.require(roleNode), s.limit(scopeRelay)).Put("/v1/relays/{id}", s.putRelay)
	r.Group(func(r chi.Router) {
		r.Use(s.require(roleAdmin))
		r.Get("/v1/relays", s.getRelays)
		r.Get("/v1/relays/{id}", s.getRelay)
		r.Post("/v1/relays/{id}/drain", s.postDrain)
		r.Delete("/v1/relays/{id}/drain", s.deleteDrain)
		r.Get("/v1/revocations", s.getRevocations)
		r.Post("/v1/revocations", s.postRevocation)
		r.Delete("/v1/revocations", s.deleteRevocation)
		if s.deps.Usage != nil {
			r.Get("/v1/usage", s.getUsage)
			r.Get("/v1/usage/relays", s.getRelayUsage)
		}
	})
	return r
}

// allowed lists the methods the router has for path, for 405's Allow header.
func allowed(r *chi.Mux, path string) string {
	var ms []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if r.Match(chi.NewRouteContext(), m, path) {
			ms = append(ms, m)
		}
	}
	return strings.Join(ms, ", ")
}

// routePattern is the matched chi pattern ("/v1/relays/{id}"), never the
// raw path, so logs and metric labels carry no client-chosen text.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
