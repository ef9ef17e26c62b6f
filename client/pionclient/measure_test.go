package pionclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// TestMeasureLeavesOutSilentRelays: of the candidates a gateway lists, the
// relay (a real TURN server answering STUN on loopback) is measured; a
// socket that never answers is left out once the gateway's budget has
// passed, and a URL naming a host rather than an address is not resolved.
func TestMeasureLeavesOutSilentRelays(t *testing.T) {
	r := startRelay(t)
	silent := testenv.ListenUDP(t) // reads nothing, answers nothing
	const budget = 200 * time.Millisecond
	list, err := json.Marshal(wire.CandidateList{BudgetMs: budget.Milliseconds(), Candidates: []wire.Candidate{
		{RelayID: "live-1", Region: "lo", Site: "a", URLs: []string{"stun:" + r.Addr(relay.UDP)}},
		{RelayID: "silent-1", Region: "lo", Site: "b", URLs: []string{"stun:" + silent.LocalAddr().String()}},
		{RelayID: "named-1", Region: "lo", Site: "c", URLs: []string{"stun:relay.invalid:3478"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayStub{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: string(list)}
	c, err := pionclient.New(g.start(t), pionclient.StaticToken(userToken), pionclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	ms, err := c.Measure(t.Context())
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if g.gotMethod != http.MethodGet || g.gotPath != "/v1/candidates" || g.gotAuth != "Bearer "+userToken || g.gotBody != "" {
		t.Errorf("asked %s %s (auth %t) with body %q; want GET /v1/candidates with the token, no body", g.gotMethod, g.gotPath, g.gotAuth != "", g.gotBody)
	}
	if len(ms) != 1 || ms[0].RelayID != "live-1" || ms[0].RTTMs == nil || *ms[0].RTTMs <= 0 || *ms[0].RTTMs > float64(budget.Milliseconds()) {
		t.Fatalf("measurements %s; want live-1 alone, within the budget", fmtMeasurements(ms))
	}
	if ms[0].Loss != nil {
		t.Errorf("measurement claims a loss of %v from one binding; want none stated", *ms[0].Loss)
	}
	if took < budget {
		t.Errorf("returned after %v, before the budget of %v: the silent relay was not waited for", took, budget)
	}
}

// TestMeasureGatewayRefuses: a gateway's problem answer is a
// *GatewayError, as for credentials.
func TestMeasureGatewayRefuses(t *testing.T) {
	g := &gatewayStub{status: http.StatusTooManyRequests, header: http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"7"}},
		body: `{"type":"urn:relaygate:problem:rate-limited","title":"Too many requests","status":429}`}
	c, err := pionclient.New(g.start(t), pionclient.StaticToken(userToken), pionclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Measure(t.Context())
	var ge *pionclient.GatewayError
	if !errors.As(err, &ge) || ge.Problem.Type != pionclient.ProblemRateLimited || ge.RetryAfter != 7*time.Second {
		t.Errorf("Measure = %v; want the rate-limited GatewayError, retry after 7s", err)
	}
}

func fmtMeasurements(ms []wire.Measurement) string {
	s := ""
	for _, m := range ms {
		rtt := "nil"
		if m.RTTMs != nil {
			rtt = fmt.Sprint(*m.RTTMs)
		}
		s += fmt.Sprintf("[%s %s ms] ", m.RelayID, rtt)
	}
	return s
}
