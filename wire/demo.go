package wire

import "time"

// DemoToken is openapi.yaml's DemoToken, GET /demo/token's answer: a
// short-lived user token for a random subject, minted by a gateway started
// with --demo for its demo page.
type DemoToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}
