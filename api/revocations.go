package api

import (
	"errors"
	"net/http"

	"github.com/relaygate/relaygate/wire"
)

// errSubjectRevoked answers a credentials request of a revoked subject.
var errSubjectRevoked = &httpError{status: http.StatusForbidden, typ: "subject-revoked",
	detail: "an operator revoked this token's subject; no credentials until the revocation lapses or is lifted"}

// errNoRevocations answers the revocation routes of a gateway built
// without them.
var errNoRevocations = &httpError{status: http.StatusNotFound, typ: "not-found", detail: "this gateway keeps no revocations"}

func (s *server) getRevocations(w http.ResponseWriter, r *http.Request) {
	if s.deps.Revocations == nil {
		s.problem(w, r, errNoRevocations)
		return
	}
	revs, err := s.deps.Revocations.Revocations(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.NewRevocationList(revs))
}

func (s *server) postRevocation(w http.ResponseWriter, r *http.Request) {
	if s.deps.Revocations == nil {
		s.problem(w, r, errNoRevocations)
		return
	}
	req, err := decodeValid[wire.RevocationRequest](w, r, false)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if msg := wire.CheckUntil(req.Until, s.now()); msg != "" {
		s.problem(w, r, errInvalidBody("until "+msg, wire.FieldError{Field: "until", Message: msg}))
		return
	}
	rev, err := s.deps.Revocations.Revoke(r.Context(), req.Subject, req.Until)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("subject revoked", "until", rev.Until) // never the subject: it is a user
	writeJSON(w, http.StatusOK, wire.NewRevocation(rev))
}

func (s *server) deleteRevocation(w http.ResponseWriter, r *http.Request) {
	if s.deps.Revocations == nil {
		s.problem(w, r, errNoRevocations)
		return
	}
	subject := r.URL.Query().Get("subject")
	if msg := wire.CheckSubject(subject); msg != "" {
		s.problem(w, r, errInvalidParam("subject "+msg, wire.FieldError{Field: "subject", Message: msg}))
		return
	}
	err := s.deps.Revocations.Unrevoke(r.Context(), subject)
	var nf notFound
	switch {
	case errors.As(err, &nf) && nf.NotFound():
		s.problem(w, r, &httpError{status: http.StatusNotFound, typ: "revocation-not-found", detail: "the subject has no revocation in force"})
		return
	case err != nil:
		s.problem(w, r, err)
		return
	}
	s.log.Info("revocation lifted")
	w.WriteHeader(http.StatusNoContent)
}
