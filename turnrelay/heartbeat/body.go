package heartbeat

import (
	"encoding/json"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// The JSON of PUT /v1/relays/{id}: the shapes of openapi.yaml's Heartbeat,
// HeartbeatAck and Problem, as own copies. This file is the only one that
// names their fields, so moving to shared wire types changes it alone.

type body struct {
	Region    string      `json:"region"`
	Site      string      `json:"site"`
	Latitude  float64     `json:"latitude"`
	Longitude float64     `json:"longitude"`
	Addresses []string    `json:"addresses"`
	Hostname  string      `json:"hostname,omitempty"`
	Ports     relay.Ports `json:"ports"`
	Capacity  resources   `json:"capacity"`
	Load      resources   `json:"load"`
	Draining  bool        `json:"draining"`
	Version   string      `json:"version"`
}

type resources struct {
	Allocations  int64 `json:"allocations"`
	BandwidthBPS int64 `json:"bandwidth_bps"`
}

type ack struct {
	TTLSeconds               int `json:"ttl_seconds"`
	HeartbeatIntervalSeconds int `json:"heartbeat_interval_seconds"`
}

type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
}

// newBody is the part of every heartbeat that does not change.
func newBody(c Config, n Node) body {
	b := body{
		Region: c.Region, Site: c.Site, Latitude: c.Latitude, Longitude: c.Longitude,
		Hostname: c.Hostname, Version: c.Version, Ports: n.Ports,
		Capacity:  resources{Allocations: n.MaxAllocations, BandwidthBPS: n.MaxBPS},
		Addresses: []string{},
	}
	for _, ip := range n.Addresses {
		b.Addresses = append(b.Addresses, ip.String())
	}
	return b
}

// encode is b with st's live fields, as JSON.
func (b body) encode(st Status) ([]byte, error) {
	b.Load = resources{Allocations: st.Allocations, BandwidthBPS: st.BandwidthBPS}
	b.Draining = st.Draining
	return json.Marshal(b)
}

// decodeAck returns the heartbeat interval the gateway asks for, 0 when it
// names none.
func decodeAck(data []byte) (time.Duration, error) {
	var a ack
	if err := json.Unmarshal(data, &a); err != nil {
		return 0, err
	}
	return time.Duration(a.HeartbeatIntervalSeconds) * time.Second, nil
}

// problemType is the type of a problem+json body, "" when it has none.
func problemType(data []byte) string {
	var p problem
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	return p.Type
}
