package api

import (
	"net/http"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// postMeasurements takes RTTs a client measured to relays. They are folded
// into its prefix's figures in the background, so the answer is 202.
func (s *server) postMeasurements(w http.ResponseWriter, r *http.Request) {
	req, err := decodeValid[wire.MeasurementsRequest](w, r, false)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ms := req.RelayMeasurements()
	s.record(r, ms)
	writeJSON(w, http.StatusAccepted, wire.MeasurementsAccepted{Accepted: len(ms)})
}

// record hands measurements to the aggregator, if there is one, with the
// subject of the token that reported them.
func (s *server) record(r *http.Request, ms []relay.Measurement) {
	if s.deps.Measurements != nil && len(ms) > 0 {
		s.deps.Measurements.Record(s.clientOf(r), subjectFrom(r.Context()), ms)
	}
}
