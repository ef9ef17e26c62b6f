package api

import (
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
)

// Server is the API's http.Handler.
type Server struct {
	s *server
}

// server holds what handlers share; built once by New, then read-only but
// for ready.
type server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	auth    *authn
	metrics *Metrics
	handler http.Handler
	urls    urlCache
	ready   atomic.Bool // false once shutdown begins
}

// New validates cfg and deps and builds the router. It starts nothing.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var errs []error
	if deps.Registry == nil {
		errs = append(errs, errors.New("api: Deps.Registry is required"))
	}
	if deps.Picker == nil {
		errs = append(errs, errors.New("api: Deps.Picker is required"))
	}
	if deps.Minter == nil {
		errs = append(errs, errors.New("api: Deps.Minter is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &server{
		cfg:     cfg,
		deps:    deps,
		log:     cmp.Or(deps.Log, slog.New(slog.DiscardHandler)),
		now:     deps.Now,
		metrics: deps.Metrics,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	auth, err := newAuthn(cfg, s.now)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	s.ready.Store(true)
	s.handler = s.routes()
	if rs, ok := s.handler.(chi.Routes); ok {
		s.metrics.initRoutes(rs)
	}
	return &Server{s: s}, nil
}

// ServeHTTP serves the API.
func (a *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.s.handler.ServeHTTP(w, r) }

// SetNotReady turns /readyz red, first step of a graceful shutdown, so load
// balancers stop sending new requests before the listener closes.
func (a *Server) SetNotReady() { a.s.ready.Store(false) }
