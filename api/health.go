package api

import (
	"context"
	"net/http"
	"time"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/relaygate/relaygate/openapi"
	"github.com/relaygate/relaygate/wire"
)

// readyTimeout bounds the store ping behind /readyz, so a hung backend makes
// the probe fail rather than hang.
const readyTimeout = 2 * time.Second

// writeJSON encodes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, contentTypeJSON, v)
}

func (s *server) getHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, wire.Health{Status: "ok"})
}

func (s *server) getReadyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeProblem(w, r, &httpError{status: http.StatusServiceUnavailable, typ: "not-ready", detail: "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	pingErr := s.deps.Registry.Ping(ctx)
	age, stale, serving := s.deps.Registry.SnapshotHealth()
	if pingErr != nil {
		s.log.Warn("readiness: store unreachable", "err", pingErr)
	}
	if !serving || (pingErr != nil && age < 0) {
		writeProblem(w, r, &httpError{status: http.StatusServiceUnavailable, typ: "not-ready",
			detail: "registry store unreachable, with no relay snapshot within the store grace to serve from"})
		return
	}
	rd := wire.Readiness{Status: "ready", Store: "up", Stale: stale || pingErr != nil}
	if pingErr != nil {
		rd.Store = "unreachable"
	}
	if age >= 0 {
		secs := age.Seconds()
		rd.SnapshotAgeSeconds = &secs
	}
	writeJSON(w, http.StatusOK, rd)
}

func (s *server) getSpec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openapi.Spec)
}

// docs renders openapi.yaml for people with Swagger UI served from assets
// embedded in the binary: the page loads nothing from any other host.
func (s *server) docs() http.Handler {
	return v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "relaygate API",
		SwaggerJSON: "/openapi.yaml",
		BasePath:    "/docs/",
		HideCurl:    false,
	})
}
