package heartbeat

import (
	"encoding/json"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// body is the part of every heartbeat that does not change, in the shape
// of the contract's Heartbeat (package wire).
type body struct{ h wire.Heartbeat }

// newBody builds the heartbeat of the relay c and n describe.
func newBody(c Config, n Node) body {
	return body{h: wire.NewHeartbeat(relay.Relay{
		Region: c.Region, Site: c.Site,
		Location:  relay.Location{Latitude: c.Latitude, Longitude: c.Longitude},
		Addresses: n.Addresses, Hostname: c.Hostname, Ports: n.Ports, Version: c.Version,
		Capacity: relay.Capacity{Allocations: n.MaxAllocations, BandwidthBPS: n.MaxBPS},
	})}
}

// encode is b with st's live fields, the drain mark the relay reasserts
// and its usage report (nil: none), as JSON.
func (b body) encode(st Status, drained bool, usage *relay.UsageReport) ([]byte, error) {
	h := b.h
	h.Load = &wire.Resources{Allocations: st.Allocations, BandwidthBPS: st.BandwidthBPS}
	h.Draining = st.Draining
	h.Drained = drained
	if usage != nil {
		u := wire.NewUsageReport(*usage)
		h.Usage = &u
	}
	return json.Marshal(h)
}

// ack is what the gateway's answer to a heartbeat says.
type ack struct {
	interval time.Duration // the heartbeat interval it asks for; 0 when it names none
	drained  bool          // the operator's drain mark on this relay
	usageAck uint64        // the seq of the usage report the gateway counted; 0: none
}

// decodeAck reads the gateway's answer to a heartbeat.
func decodeAck(data []byte) (ack, error) {
	var a wire.HeartbeatAck
	if err := json.Unmarshal(data, &a); err != nil {
		return ack{}, err
	}
	return ack{interval: time.Duration(a.HeartbeatIntervalSeconds) * time.Second, drained: a.Drained, usageAck: a.UsageAck}, nil
}

// decodeProblem is a problem+json body; zero when it is not one.
func decodeProblem(data []byte) wire.Problem {
	var p wire.Problem
	if json.Unmarshal(data, &p) != nil {
		return wire.Problem{}
	}
	return p
}
