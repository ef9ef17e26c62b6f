package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// ProbeMaxAge is how old a probe view may be before reads ignore it and
// garbage collection removes it. A prober measures every relay every few
// seconds, so a view this old means the replica stopped probing the relay
// (it left the registry, or the prober stopped); its numbers say nothing
// about now.
const ProbeMaxAge = 10 * time.Minute

// probeKeyTTL is the Redis TTL of a replica's probe hash, renewed by every
// RecordProbes: a replica that goes away leaves nothing behind an hour
// later. It is only garbage collection; reads judge age by ProbedAt.
const probeKeyTTL = time.Hour

// probeSweepEvery is how often Memory sweeps its probe views for relays that
// are gone or views past ProbeMaxAge. A sweep visits every view, so it runs
// at most this often, whatever the rate of RecordProbes.
const probeSweepEvery = time.Minute

// probeFresh reports whether a probe view still counts at now.
func probeFresh(p relay.Probe, now time.Time) bool {
	return now.Sub(p.ProbedAt) <= ProbeMaxAge
}

// checkProbes rejects what no store can keep.
func checkProbes(probes map[string]relay.Probe) error {
	for id, p := range probes {
		if id == "" {
			return fmt.Errorf("record probes: empty relay id: %w", ErrInvalid)
		}
		if p.ProbedAt.IsZero() {
			return fmt.Errorf("record probes %q: no probed-at time: %w", id, ErrInvalid)
		}
	}
	return nil
}

// probeVersion is the format version of a stored probe view.
const probeVersion = 1

// probeRecord is a probe view as the Redis store keeps it, version 1.
type probeRecord struct {
	V        int     `json:"v"`
	Health   string  `json:"health,omitempty"`
	RTT      int64   `json:"rtt_ns,omitempty"`
	MinRTT   int64   `json:"min_rtt_ns,omitempty"`
	Jitter   int64   `json:"jitter_ns,omitempty"`
	Loss     float64 `json:"loss,omitempty"`
	ProbedAt int64   `json:"probed_at_unix_ns"` // decides age; a number, so the GC script can read it
}

func encodeProbe(p relay.Probe) ([]byte, error) {
	return json.Marshal(probeRecord{
		V:        probeVersion,
		Health:   string(p.Health),
		RTT:      int64(p.RTT),
		MinRTT:   int64(p.MinRTT),
		Jitter:   int64(p.Jitter),
		Loss:     p.Loss,
		ProbedAt: p.ProbedAt.UnixNano(),
	})
}

// decodeProbe parses the stored probe view of relay id.
func decodeProbe(id string, data []byte) (relay.Probe, error) {
	var rec probeRecord
	if err := decodeVersioned(id, "probe", data, &rec, probeVersion); err != nil {
		return relay.Probe{}, err
	}
	return relay.Probe{
		Health:   relay.Health(rec.Health),
		RTT:      time.Duration(rec.RTT),
		MinRTT:   time.Duration(rec.MinRTT),
		Jitter:   time.Duration(rec.Jitter),
		Loss:     rec.Loss,
		ProbedAt: time.Unix(0, rec.ProbedAt).UTC(),
	}, nil
}
