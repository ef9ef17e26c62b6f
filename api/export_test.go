package api

import "github.com/go-chi/chi/v5"

// Router exposes the chi router so tests can walk it against the spec.
func (a *Server) Router() chi.Routes { return a.s.handler.(chi.Routes) }
