package api

import (
	"net/http"

	"github.com/relaygate/relaygate/wire"
)

func (s *server) getUsage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	subject := q.Get("subject")
	from, to, fe := wire.ParseUsageRange(q.Get("from"), q.Get("to"))
	if !wire.ValidSubject(subject) {
		fe = append([]wire.FieldError{{Field: "subject", Message: "required: a token subject, 1-256 bytes of UTF-8 without control characters"}}, fe...)
	}
	if len(fe) > 0 {
		s.problem(w, r, errInvalidParam("usage query parameters are invalid", fe...))
		return
	}
	ps, err := s.deps.Usage.UsageOf(r.Context(), subject, from, to)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.NewUsage(subject, from, to, ps))
}

func (s *server) getRelayUsage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, fe := wire.ParseUsageRange(q.Get("from"), q.Get("to"))
	if len(fe) > 0 {
		s.problem(w, r, errInvalidParam("usage query parameters are invalid", fe...))
		return
	}
	rs, err := s.deps.Usage.RelayUsage(r.Context(), from, to)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.NewRelayUsageList(from, to, rs))
}
