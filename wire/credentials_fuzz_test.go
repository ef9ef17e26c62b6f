package wire_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// FuzzCredentialsRequest: any body POST /v1/credentials may get decodes
// (as the api decodes it: unknown fields refused) or not, never a panic;
// a body Validate accepts carries at most MaxMeasurements inline
// measurements (a client's pre-call measurements of GET /v1/candidates'
// relays, or any), each of a relay id, an RTT in [0, a minute] and a loss
// fraction, which is what selection and the prefix's aggregates may be fed.
func FuzzCredentialsRequest(f *testing.F) {
	f.Add([]byte(`{"measurements":[{"relay_id":"fra-1","rtt_ms":21.5},{"relay_id":"nyc-1","rtt_ms":80,"loss":0.01}]}`))
	f.Add([]byte(`{"ttl_seconds":600,"transports":["udp"],"measurements":[{"relay_id":"fra-1","rtt_ms":-1}]}`))
	f.Add([]byte(`{"measurements":[{"relay_id":"a","rtt_ms":1e308,"loss":2}]}`))
	f.Add([]byte(`{"measurements":[{"relay_id":"","rtt_ms":null}],"exclude_countries":["US"]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var req wire.CredentialsRequest
		if dec.Decode(&req) != nil || len(req.Validate()) > 0 {
			return
		}
		ms := req.RelayMeasurements()
		if len(ms) > wire.MaxMeasurements {
			t.Fatalf("valid request with %d measurements, want at most %d", len(ms), wire.MaxMeasurements)
		}
		for _, m := range ms {
			if m.RelayID == "" || m.RTT < 0 || m.RTT > time.Minute || math.IsNaN(m.Loss) || m.Loss < 0 || m.Loss > 1 {
				t.Fatalf("valid request yields measurement %+v", m)
			}
		}
		req.Within().Permits(relay.Country(0))
		if ttl := req.TTL(10 * time.Minute); ttl < wire.MinCredentialTTL || ttl > wire.MaxCredentialTTL {
			t.Fatalf("valid request's TTL %v out of range", ttl)
		}
	})
}
