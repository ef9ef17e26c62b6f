package api

import (
	"net/http"

	"github.com/relaygate/relaygate/relay"
)

// measurementsRequest is POST /v1/measurements' body.
type measurementsRequest struct {
	Measurements []measurementJSON `json:"measurements"`
}

func (m measurementsRequest) validate() []fieldError {
	return validateMeasurements(m.Measurements, true)
}

type measurementsResponse struct {
	Accepted int `json:"accepted"`
}

// postMeasurements takes RTTs a client measured to relays. They are folded
// into its prefix's figures in the background, so the answer is 202.
func (s *server) postMeasurements(w http.ResponseWriter, r *http.Request) {
	req, err := decodeValid[measurementsRequest](w, r, false)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ms := toMeasurements(req.Measurements)
	s.record(r, ms)
	writeJSON(w, http.StatusAccepted, measurementsResponse{Accepted: len(ms)})
}

// record hands measurements to the aggregator, if there is one.
func (s *server) record(r *http.Request, ms []relay.Measurement) {
	if s.deps.Measurements != nil && len(ms) > 0 {
		s.deps.Measurements.Record(s.clientOf(r), ms)
	}
}
