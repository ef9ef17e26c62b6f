package api

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// relayURLs lists the TURN URIs for r, transport by transport in the
// table's order: for a transport that names addresses, one URI per
// advertised address (IP literals, IPv6 in brackets per RFC 7065, so no DNS
// lookup leaks or delays the call), addresses outermost; then one URI per
// transport that must name the hostname so TLS can verify it. Only
// transports in want (all when empty).
func relayURLs(r relay.Relay, want []relay.Transport) []string {
	wants := func(t relay.Transport) bool {
		return r.Offers(t) && (len(want) == 0 || slices.Contains(want, t))
	}
	uri := func(t relay.Transport, host string) string {
		return t.Scheme() + ":" + host + "?transport=" + t.Query()
	}
	var urls []string
	for _, a := range r.Addresses {
		for _, t := range relay.Transports() {
			if !t.NeedsHostname() && wants(t) {
				urls = append(urls, uri(t, netip.AddrPortFrom(a, r.Ports.Port(t)).String()))
			}
		}
	}
	for _, t := range relay.Transports() {
		if t.NeedsHostname() && wants(t) {
			urls = append(urls, uri(t, r.Hostname+":"+strconv.Itoa(int(r.Ports.Port(t)))))
		}
	}
	return urls
}

// newRelayChoice is c with its URLs, from the cache when all transports
// are wanted.
func (s *server) newRelayChoice(c relay.Choice, want []relay.Transport) wire.RelayChoice {
	return wire.NewRelayChoice(c, s.urls.urls(c.Relay, want))
}

// issue picks relays and mints the credential both credential endpoints
// hand out. within is the request's own jurisdiction policy, which the
// token's claims narrow further. A revoked subject gets none, before any
// work is spent on it.
func (s *server) issue(r *http.Request, ttl time.Duration, want []relay.Transport, measured []relay.Measurement, within relay.Jurisdiction) (relay.Pair, relay.Credential, error) {
	subject, now := subjectFrom(r.Context()), s.now()
	within, err := s.policy(r, subject, now, within)
	if err != nil {
		return relay.Pair{}, relay.Credential{}, err
	}
	pair, err := s.deps.Picker.PickWithin(s.clientOf(r), subject, want, measured, within)
	if err != nil {
		return pair, relay.Credential{}, err
	}
	cred := s.deps.Minter.Mint(subject, ttl, now)
	s.metrics.issued(pair.Primary)
	return pair, cred, nil
}

// policy refuses a revoked subject, before any work is spent on it, and
// narrows the request's jurisdiction policy within by the token's claims.
func (s *server) policy(r *http.Request, subject string, now time.Time, within relay.Jurisdiction) (relay.Jurisdiction, error) {
	if s.deps.Revocations != nil && s.deps.Revocations.Revoked(subject, now) {
		s.metrics.revokedRefusals.Inc()
		return within, errSubjectRevoked
	}
	if claimed := infoFrom(r.Context()).within; claimed != nil {
		within = within.Narrow(*claimed)
	}
	return within, nil
}

func (s *server) postCredentials(w http.ResponseWriter, r *http.Request) {
	req, err := decodeValid[wire.CredentialsRequest](w, r, true)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ttl := req.TTL(s.cfg.CredentialTTL)
	want := req.RelayTransports()
	measured := req.RelayMeasurements()
	pair, cred, err := s.issue(r, ttl, want, measured, req.Within())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.record(r, measured)
	a := answers.Get().(*credentialsAnswer)
	defer a.release()
	a.resp = wire.Credentials{
		Username: cred.Username, Credential: cred.Password,
		TTLSeconds: int64(ttl / time.Second), ExpiresAt: cred.Expires.UTC(),
		Primary:            s.newRelayChoice(pair.Primary, want),
		ICETransportPolicy: wire.ICETransportPolicyRelay,
	}
	a.urls = append(a.urls[:0], a.resp.Primary.URLs...)
	if pair.Backup != nil {
		a.backup = s.newRelayChoice(*pair.Backup, want)
		a.resp.Backup = &a.backup
		a.urls = append(a.urls, a.backup.URLs...)
	}
	a.ice[0] = wire.ICEServer{URLs: a.urls, Username: cred.Username, Credential: cred.Password}
	a.resp.ICEServers = a.ice[:]
	writeJSON(w, http.StatusOK, &a.resp)
}

// credentialsAnswer holds one credentials answer and the parts it points
// to, reused across requests (it is done with once encoded): five
// allocations and about 600 bytes less per request.
type credentialsAnswer struct {
	resp   wire.Credentials
	backup wire.RelayChoice
	ice    [1]wire.ICEServer
	urls   []string
}

var answers = sync.Pool{New: func() any { return new(credentialsAnswer) }}

// release clears what the answer refers to and returns it to the pool.
func (a *credentialsAnswer) release() {
	clear(a.urls)
	*a = credentialsAnswer{urls: a.urls[:0]}
	answers.Put(a)
}

func (s *server) getTURN(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ttl := s.cfg.CredentialTTL
	if v := q.Get("ttl"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || !wire.ValidTTLSeconds(n) {
			s.problem(w, r, errInvalidParam("ttl "+wire.TTLRangeMessage, wire.FieldError{Field: "ttl", Message: wire.TTLRangeMessage}))
			return
		}
		ttl = time.Duration(n) * time.Second
	}
	var want []relay.Transport
	if ts := q["transport"]; len(ts) > 0 {
		if f := wire.CheckTransports(ts); f != "" {
			s.problem(w, r, errInvalidParam("transport: "+f, wire.FieldError{Field: "transport", Message: f}))
			return
		}
		want = wire.ParseTransports(ts)
	}
	within, err := excludedCountries(q)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pair, cred, err := s.issue(r, ttl, want, nil, within)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	uris := s.urls.urls(pair.Primary.Relay, want)
	if pair.Backup != nil {
		uris = slices.Concat(uris, s.urls.urls(pair.Backup.Relay, want))
	}
	writeJSON(w, http.StatusOK, wire.TurnServer{Username: cred.Username, Password: cred.Password, TTL: int64(ttl / time.Second), URIs: uris})
}

// excludedCountries is the jurisdiction policy of the exclude_countries
// query parameters (repeated, or comma-separated): any relay when absent.
func excludedCountries(q url.Values) (relay.Jurisdiction, error) {
	vs := q["exclude_countries"]
	if len(vs) == 0 {
		return relay.Jurisdiction{}, nil
	}
	var codes []string
	for _, v := range vs {
		codes = append(codes, strings.Split(v, ",")...)
	}
	if f := wire.CheckCountries(codes); f != "" {
		return relay.Jurisdiction{}, errInvalidParam("exclude_countries: "+f, wire.FieldError{Field: "exclude_countries", Message: f})
	}
	return wire.Jurisdiction(nil, codes), nil
}

// getCandidates answers GET /v1/candidates: the relays to measure before a
// first call. Only UDP relays are listed: a browser's STUN binding goes
// over UDP. A revoked subject gets none.
func (s *server) getCandidates(w http.ResponseWriter, r *http.Request) {
	within, err := excludedCountries(r.URL.Query())
	if err == nil {
		within, err = s.policy(r, subjectFrom(r.Context()), s.now(), within)
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rs := s.deps.Picker.Candidates(s.clientOf(r), []relay.Transport{relay.UDP}, within)
	writeJSON(w, http.StatusOK, wire.NewCandidateList(rs))
}
