package wire

// Health is openapi.yaml's Health, GET /healthz's answer; Status is "ok".
type Health struct {
	Status string `json:"status"`
}

// Readiness is openapi.yaml's Readiness, GET /readyz's answer when ready;
// Status is "ready". Stale is set while the registry store cannot refresh
// the relay snapshot and credentials come from the last one.
type Readiness struct {
	Status             string   `json:"status"`
	Store              string   `json:"store"` // "up" or "unreachable": its answer to a ping just now
	Stale              bool     `json:"stale"`
	SnapshotAgeSeconds *float64 `json:"snapshot_age_seconds,omitempty"` // since the last refresh from the store; absent before the first
}
