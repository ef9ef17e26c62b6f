package wire

import (
	"fmt"
	"math"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Bounds of client measurements.
const (
	// MaxMeasurements bounds the measurements one request may carry: enough
	// for every relay a client could have tried, small enough to fold at
	// once.
	MaxMeasurements = 64
	// maxRTTMillis bounds a reported RTT (relay.MaxMeasuredRTT): a minute
	// is no longer a round trip.
	maxRTTMillis = 60000
)

// MeasurementsRequest is openapi.yaml's MeasurementsRequest, the body of
// POST /v1/measurements.
type MeasurementsRequest struct {
	Measurements []Measurement `json:"measurements"`
}

// Measurement is openapi.yaml's Measurement: a round-trip time a client
// measured to a relay itself. RTTMs is a pointer so that a missing RTT is
// told from 0; Loss may be absent.
type Measurement struct {
	RelayID string   `json:"relay_id"`
	RTTMs   *float64 `json:"rtt_ms"`
	Loss    *float64 `json:"loss,omitempty"` // fraction lost, [0, 1]
}

// MeasurementsAccepted is openapi.yaml's MeasurementsAccepted, the 202
// answer of POST /v1/measurements.
type MeasurementsAccepted struct {
	Accepted int `json:"accepted"` // how many measurements were taken
}

// Validate returns the request's invalid fields; none when it is valid.
func (m MeasurementsRequest) Validate() []FieldError {
	return validateMeasurements(m.Measurements, true)
}

// RelayMeasurements converts the measurements of a valid request.
func (m MeasurementsRequest) RelayMeasurements() []relay.Measurement {
	return relayMeasurements(m.Measurements)
}

// validateMeasurements checks a measurement list; required makes an empty
// list an error.
func validateMeasurements(ms []Measurement, required bool) []FieldError {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: field, Message: msg}) }
	switch {
	case required && len(ms) == 0:
		add("measurements", fmt.Sprintf("required: 1 to %d measurements", MaxMeasurements))
	case len(ms) > MaxMeasurements:
		add("measurements", fmt.Sprintf("at most %d measurements", MaxMeasurements))
	default:
		for i, m := range ms {
			field := fmt.Sprintf("measurements[%d]", i)
			if !ValidSlug(m.RelayID) {
				add(field+".relay_id", "required: a relay id")
			}
			if m.RTTMs == nil || math.IsNaN(*m.RTTMs) || *m.RTTMs < 0 || *m.RTTMs > maxRTTMillis {
				add(field+".rtt_ms", "required: a number in [0, 60000]")
			}
			if m.Loss != nil && (math.IsNaN(*m.Loss) || *m.Loss < 0 || *m.Loss > 1) {
				add(field+".loss", "must be a fraction in [0, 1]")
			}
		}
	}
	return fe
}

// relayMeasurements converts measurements validateMeasurements accepted.
func relayMeasurements(ms []Measurement) []relay.Measurement {
	out := make([]relay.Measurement, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Relay())
	}
	return out
}

// Relay is m as relay's value; an absent RTT (which Validate refuses) is 0,
// an absent loss none.
func (m Measurement) Relay() relay.Measurement {
	out := relay.Measurement{RelayID: m.RelayID}
	if m.RTTMs != nil {
		out.RTT = time.Duration(*m.RTTMs * float64(time.Millisecond))
	}
	if m.Loss != nil {
		out.Loss = *m.Loss
	}
	return out
}

// NewMeasurement is m as a client reports it: the RTT in milliseconds to
// the microsecond, capped at a minute, and the loss always stated.
func NewMeasurement(m relay.Measurement) Measurement {
	rtt := min(float64(m.RTT.Microseconds())/1000, maxRTTMillis)
	loss := m.Loss
	return Measurement{RelayID: m.RelayID, RTTMs: &rtt, Loss: &loss}
}
