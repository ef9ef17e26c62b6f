package api

import (
	"bytes"
	"encoding/json"

	"github.com/go-chi/chi/v5"
)

// Router exposes the chi router so tests can walk it against the spec.
func (a *Server) Router() chi.Routes { return a.s.handler.(chi.Routes) }

func jsonStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
