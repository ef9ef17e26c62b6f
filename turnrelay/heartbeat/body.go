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

// encode is b with st's live fields, as JSON.
func (b body) encode(st Status) ([]byte, error) {
	h := b.h
	h.Load = &wire.Resources{Allocations: st.Allocations, BandwidthBPS: st.BandwidthBPS}
	h.Draining = st.Draining
	return json.Marshal(h)
}

// decodeAck returns the heartbeat interval the gateway asks for, 0 when it
// names none.
func decodeAck(data []byte) (time.Duration, error) {
	var a wire.HeartbeatAck
	if err := json.Unmarshal(data, &a); err != nil {
		return 0, err
	}
	return time.Duration(a.HeartbeatIntervalSeconds) * time.Second, nil
}

// problemType is the type of a problem+json body, "" when it has none.
func problemType(data []byte) string {
	var p wire.Problem
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	return p.Type
}
