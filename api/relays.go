package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relaygate/relaygate/wire"
)

// relayID reads and checks the {id} path parameter.
func relayID(r *http.Request) (string, error) {
	id := chi.URLParam(r, "id")
	if !wire.ValidSlug(id) {
		return "", errInvalidParam("relay id must be 1-63 lowercase letters, digits or '-'",
			wire.FieldError{Field: "id", Message: "not a relay id"})
	}
	return id, nil
}

func (s *server) putRelay(w http.ResponseWriter, r *http.Request) {
	id, err := relayID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if sub := subjectFrom(r.Context()); sub != id {
		s.metrics.authFailures.WithLabelValues(roleNode.String(), "subject_mismatch").Inc()
		s.problem(w, r, errForbidden("the node token's subject does not match the relay id"))
		return
	}
	req, err := decodeValid[wire.Heartbeat](w, r, false)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	drained, err := s.deps.Registry.Heartbeat(r.Context(), req.Relay(id), s.cfg.HeartbeatTTL)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.metrics.heartbeats.Inc()
	ack := wire.HeartbeatAck{
		TTLSeconds:               int(s.cfg.HeartbeatTTL / time.Second),
		HeartbeatIntervalSeconds: int(s.heartbeatInterval() / time.Second),
		Drained:                  drained,
		UsageAck:                 s.recordUsage(r, id, req.Usage),
	}
	if s.deps.Revocations != nil {
		revs, truncated := s.deps.Revocations.RelayRevocations(s.now())
		ack.Revocations, ack.RevocationsTruncated = wire.NewRelayRevocations(revs), truncated
	}
	writeJSON(w, http.StatusOK, ack)
}

// recordUsage counts a heartbeat's usage report and returns its seq for
// usage_ack, or 0 when there was none or it was not counted: the
// heartbeat itself stands, and the relay sends the report again.
func (s *server) recordUsage(r *http.Request, id string, u *wire.UsageReport) uint64 {
	if u == nil || s.deps.Usage == nil {
		return 0
	}
	if err := s.deps.Usage.RecordUsage(r.Context(), id, u.Relay()); err != nil {
		s.log.Warn("usage report not counted; the relay sends it again", "relay_id", id, "err", err.Error())
		return 0
	}
	return u.Seq
}

// heartbeatInterval is how often relays are told to heartbeat: a third of
// the TTL, so one lost heartbeat never expires a relay; at least a second,
// in whole seconds.
func (s *server) heartbeatInterval() time.Duration {
	return max(s.cfg.HeartbeatTTL/3, time.Second).Truncate(time.Second)
}

func (s *server) getRelays(w http.ResponseWriter, r *http.Request) {
	rs, err := s.deps.Registry.Relays(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.NewRelayList(rs, s.now()))
}

func (s *server) getRelay(w http.ResponseWriter, r *http.Request) {
	id, err := relayID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rl, err := s.deps.Registry.Relay(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.NewRelayStatus(rl, s.now()))
}

func (s *server) postDrain(w http.ResponseWriter, r *http.Request)   { s.setDrained(w, r, true) }
func (s *server) deleteDrain(w http.ResponseWriter, r *http.Request) { s.setDrained(w, r, false) }

func (s *server) setDrained(w http.ResponseWriter, r *http.Request, drained bool) {
	id, err := relayID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.deps.Registry.SetDrained(r.Context(), id, drained); err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("relay drain mark changed", "relay_id", id, "drained", drained)
	rl, err := s.deps.Registry.Relay(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.NewRelayStatus(rl, s.now()))
}
