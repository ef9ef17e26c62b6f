package wire

// Health is openapi.yaml's Health, GET /healthz's answer; Status is "ok".
type Health struct {
	Status string `json:"status"`
}

// Readiness is openapi.yaml's Readiness, GET /readyz's answer when ready;
// Status is "ready".
type Readiness struct {
	Status string `json:"status"`
}
