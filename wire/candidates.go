package wire

import (
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// PreCallBudget is CandidateList.BudgetMs: how long a client should spend
// measuring the candidates before its first call (one STUN round trip to
// each, all at once); a candidate that has not answered by then is left
// out of the report. 300 ms is about what call setup takes anyway.
const PreCallBudget = 300 * time.Millisecond

// CandidateList is openapi.yaml's CandidateList, GET /v1/candidates'
// answer: the relays to measure before a first call, then to report
// inline in POST /v1/credentials' measurements.
type CandidateList struct {
	Candidates []Candidate `json:"candidates"`
	BudgetMs   int64       `json:"budget_ms"`
}

// Candidate is openapi.yaml's Candidate: one relay site to measure, by a
// STUN binding to any of its URLs.
type Candidate struct {
	RelayID string        `json:"relay_id"`
	Region  string        `json:"region"`
	Site    string        `json:"site"`
	Country relay.Country `json:"country,omitempty"` // zero (left out) when unknown
	URLs    []string      `json:"urls"`
}

// NewCandidateList is the answer listing rs, each with its STUN URLs (one
// per advertised address, on its UDP port; IPv6 in brackets, no DNS).
func NewCandidateList(rs []relay.Relay) CandidateList {
	l := CandidateList{Candidates: make([]Candidate, 0, len(rs)), BudgetMs: PreCallBudget.Milliseconds()}
	for _, r := range rs {
		c := Candidate{RelayID: r.ID, Region: r.Region, Site: r.Site, Country: r.Country, URLs: make([]string, 0, len(r.Addresses))}
		for _, a := range r.Addresses {
			c.URLs = append(c.URLs, "stun:"+netip.AddrPortFrom(a, r.Ports.Port(relay.UDP)).String())
		}
		l.Candidates = append(l.Candidates, c)
	}
	return l
}
