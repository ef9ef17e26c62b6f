package pionclient

import "github.com/pion/transport/v5"

// Test hooks.
var (
	DecodeAnswer    = decodeAnswer
	ParseRetryAfter = parseRetryAfter
)

// NewSealedNet is the hardened network over base.
func NewSealedNet(base transport.Net) transport.Net { return sealedNet{base} }
