package pionclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// maxBudget caps the gateway's budget_ms: a pre-call measurement holds up
// the first call, and a gateway asking for more than a second is broken.
const maxBudget = time.Second

// bindingRetransmit is how often a binding request is sent again within
// the budget: one lost packet must not cost a relay its measurement, and
// three sends in 300 ms are still nothing to a relay.
const bindingRetransmit = 100 * time.Millisecond

// Measure is the pre-call measurement: it asks the gateway for the relays
// to measure (GET /v1/candidates), sends each a STUN Binding request, all
// at once, and returns the round-trip time of those that answered within
// the gateway's budget (budget_ms, 300 ms by default; ctx may cut it
// shorter), for CredentialsWith to report inline. A candidate that did not
// answer in time is left out, as the contract asks.
//
// Only the RTT and the relay id go back to the gateway: the address a
// relay's answer reflects (XOR-MAPPED-ADDRESS) is not even read, and the
// sockets are the hardened network's wildcard ones. A relay learns the
// client's address from the binding, as it does from a TURN allocation.
// URLs that are not IP literals are skipped (no DNS).
func (c *Client) Measure(ctx context.Context) ([]wire.Measurement, error) {
	var list wire.CandidateList
	if err := c.get(ctx, "candidates", nil, "CandidateList", &list); err != nil {
		return nil, err
	}
	budget := time.Duration(list.BudgetMs) * time.Millisecond
	if budget <= 0 {
		budget = wire.PreCallBudget
	}
	ctx, cancel := context.WithTimeout(ctx, min(budget, maxBudget))
	defer cancel()
	return measure(ctx, c.net, list.Candidates), nil
}

// measure sends a binding to every candidate at once and returns the RTT
// of those that answered before ctx ended, in the candidates' order, at
// most wire.MaxMeasurements.
func measure(ctx context.Context, n transport.Net, cs []wire.Candidate) []wire.Measurement {
	if len(cs) > wire.MaxMeasurements {
		cs = cs[:wire.MaxMeasurements]
	}
	rtts := make([]time.Duration, len(cs))
	var wg sync.WaitGroup
	for i, cand := range cs {
		if !wire.ValidSlug(cand.RelayID) {
			continue
		}
		var addrs []netip.AddrPort
		for _, u := range cand.URLs {
			if a, ok := stunAddr(u); ok {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			continue
		}
		wg.Go(func() {
			rtt, err := bindingRTT(ctx, n, addrs)
			if err == nil {
				rtts[i] = rtt
			}
		})
	}
	wg.Wait()
	var out []wire.Measurement
	for i, rtt := range rtts {
		if rtt > 0 {
			m := wire.NewMeasurement(relay.Measurement{RelayID: cs[i].RelayID, RTT: rtt})
			m.Loss = nil // one answered binding says nothing of loss; relaygate.js reports none either
			out = append(out, m)
		}
	}
	return out
}

// stunAddr is the address of a stun: (or turn: over UDP) URL whose host
// is an IP literal.
func stunAddr(raw string) (netip.AddrPort, bool) {
	u, ip, ok := uriIP(raw)
	if !ok || u.Proto != stun.ProtoTypeUDP || (u.Scheme != stun.SchemeTypeSTUN && u.Scheme != stun.SchemeTypeTURN) || u.Port <= 0 || u.Port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(u.Port)), true //nolint:gosec // G115: checked above
}

// uriIP parses a STUN or TURN URI whose host is an IP literal and returns
// it with that address, unmapped; false for any other.
func uriIP(raw string) (*stun.URI, netip.Addr, bool) {
	u, err := stun.ParseURI(raw)
	if err != nil {
		return nil, netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(u.Host)
	if err != nil {
		return nil, netip.Addr{}, false
	}
	return u, ip.Unmap(), true
}

// bindingRTT sends STUN Binding requests to addrs (one relay's
// addresses) from wildcard sockets of n (the hardened network), again
// every bindingRetransmit, and returns the round trip of the first answer,
// until ctx ends. The answer's mapped address is not read.
func bindingRTT(ctx context.Context, n transport.Net, addrs []netip.AddrPort) (time.Duration, error) {
	conns := map[bool]net.PacketConn{} // by "is IPv6"
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for _, a := range addrs {
		v6 := a.Addr().Is6()
		if conns[v6] != nil {
			continue
		}
		network, wild := "udp4", "0.0.0.0:0"
		if v6 {
			network, wild = "udp6", "[::]:0"
		}
		c, err := n.ListenPacket(network, wild)
		if err != nil {
			continue // no such family here
		}
		conns[v6] = c
	}
	if len(conns) == 0 {
		return 0, errors.New("pionclient: no socket for the relay's addresses")
	}

	type answer struct {
		id [stun.TransactionIDSize]byte
		at time.Time
	}
	answers := make(chan answer, 16)
	for _, c := range conns {
		go func() {
			buf := make([]byte, 1500)
			for {
				nr, _, err := c.ReadFrom(buf)
				if err != nil {
					return // closed
				}
				at := time.Now()
				m := &stun.Message{Raw: buf[:nr]}
				if m.Decode() != nil || m.Type != stun.BindingSuccess {
					continue
				}
				select {
				case answers <- answer{m.TransactionID, at}:
				default:
				}
			}
		}()
	}

	sent := map[[stun.TransactionIDSize]byte]time.Time{}
	send := func() {
		for _, a := range addrs {
			c := conns[a.Addr().Is6()]
			if c == nil {
				continue
			}
			m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
			if err != nil {
				continue
			}
			sent[m.TransactionID] = time.Now()
			_, _ = c.WriteTo(m.Raw, net.UDPAddrFromAddrPort(a))
		}
	}
	send()
	tick := time.NewTicker(bindingRetransmit)
	defer tick.Stop()
	for {
		select {
		case a := <-answers:
			if t0, ok := sent[a.id]; ok {
				return max(a.at.Sub(t0), time.Microsecond), nil
			}
		case <-tick.C:
			send()
		case <-ctx.Done():
			return 0, fmt.Errorf("pionclient: binding: %w", ctx.Err())
		}
	}
}
