package main

import (
	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/ratelimit"
)

// The gateway is what run() gives api for each of these.
var (
	_ api.Registry     = (*gateway.Gateway)(nil)
	_ api.Picker       = (*gateway.Gateway)(nil)
	_ api.Minter       = (*gateway.Gateway)(nil)
	_ api.Measurements = (*gateway.Gateway)(nil)
	_ api.Limiter      = (*ratelimit.Memory)(nil)
	_ api.Limiter      = (*ratelimit.Redis)(nil)
)
