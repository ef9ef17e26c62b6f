package turnrelay

import "github.com/relaygate/relaygate/turnrelay/heartbeat"

// heartbeatStatus is the live part of a heartbeat: load since the last one.
func (s *Server) heartbeatStatus() heartbeat.Status {
	st := s.data.Stats()
	bps := s.load.BPS(st.BytesToPeer+st.BytesFromPeer, s.cfg.Now())
	return heartbeat.Status{Allocations: int64(s.Allocations()), BandwidthBPS: bps, Draining: s.Draining()}
}

// heartbeatNode is what heartbeats say about the node that does not change.
func (s *Server) heartbeatNode() heartbeat.Node {
	return heartbeat.Node{Addresses: s.ips.advertised(), Ports: s.Addrs().Ports(),
		MaxAllocations: int64(s.cfg.MaxAllocations), MaxBPS: s.cfg.MaxBPS}
}

// heartbeatStats are the heartbeat client's counts; zero when standalone.
func (s *Server) heartbeatStats() heartbeat.Stats {
	if s.hb == nil {
		return heartbeat.Stats{}
	}
	return s.hb.Stats()
}

// setRevocations takes the revocations of a heartbeat answer and ends the
// allocations of the users it revokes.
func (s *Server) setRevocations(revs heartbeat.Revocations) {
	if n := s.revs.set(revs, s.cfg.Now()); n > 0 {
		s.log.Info("ended the allocations of revoked users", "allocations", n) // never which users
	}
}
