package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// maxRTTMillis bounds reported RTTs: a minute is no longer a round trip.
const maxRTTMillis = 60000

type measurementJSON struct {
	RelayID string   `json:"relay_id"`
	RTTMs   *float64 `json:"rtt_ms"`
	Loss    *float64 `json:"loss,omitempty"`
}

// credentialsRequest is POST /v1/credentials' optional body.
type credentialsRequest struct {
	TTLSeconds   *int64            `json:"ttl_seconds,omitempty"`
	Transports   []string          `json:"transports,omitempty"`
	Measurements []measurementJSON `json:"measurements,omitempty"`
}

func (c credentialsRequest) validate() []fieldError {
	var fe []fieldError
	add := func(field, msg string) { fe = append(fe, fieldError{Field: field, Message: msg}) }
	if c.TTLSeconds != nil && !ttlInRange(*c.TTLSeconds) {
		add("ttl_seconds", ttlRangeMsg)
	}
	if c.Transports != nil {
		if f := checkTransports(c.Transports); f != "" {
			add("transports", f)
		}
	}
	return append(fe, validateMeasurements(c.Measurements, false)...)
}

// validateMeasurements checks a measurement list; required makes an empty
// list an error.
func validateMeasurements(ms []measurementJSON, required bool) []fieldError {
	var fe []fieldError
	add := func(field, msg string) { fe = append(fe, fieldError{Field: field, Message: msg}) }
	switch {
	case required && len(ms) == 0:
		add("measurements", fmt.Sprintf("required: 1 to %d measurements", maxMeasurements))
	case len(ms) > maxMeasurements:
		add("measurements", fmt.Sprintf("at most %d measurements", maxMeasurements))
	default:
		for i, m := range ms {
			field := fmt.Sprintf("measurements[%d]", i)
			if !slugRE.MatchString(m.RelayID) {
				add(field+".relay_id", "required: a relay id")
			}
			if m.RTTMs == nil || math.IsNaN(*m.RTTMs) || *m.RTTMs < 0 || *m.RTTMs > maxRTTMillis {
				add(field+".rtt_ms", "required: a number in [0, 60000]")
			}
			if m.Loss != nil && (math.IsNaN(*m.Loss) || *m.Loss < 0 || *m.Loss > 1) {
				add(field+".loss", "must be a fraction in [0, 1]")
			}
		}
	}
	return fe
}

const ttlRangeMsg = "must be between 60 and 172800 seconds"

func ttlInRange(s int64) bool {
	return s >= int64(MinCredentialTTL/time.Second) && s <= int64(MaxCredentialTTL/time.Second)
}

// transportNames lists the transports for messages: "udp, tcp, tls".
var transportNames = func() string {
	var names []string
	for _, t := range relay.Transports() {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}()

// checkTransports returns what is wrong with a transport list, "" if nothing.
func checkTransports(ts []string) string {
	if len(ts) == 0 || len(ts) > relay.NumTransports {
		return fmt.Sprintf("1 to %d of %s", relay.NumTransports, transportNames)
	}
	for i, t := range ts {
		if _, ok := relay.ParseTransport(t); !ok {
			return "each must be one of " + transportNames
		}
		if slices.Contains(ts[:i], t) {
			return "each transport at most once"
		}
	}
	return ""
}

// toTransports converts a list checkTransports accepted.
func toTransports(ts []string) []relay.Transport {
	out := make([]relay.Transport, len(ts))
	for i, t := range ts {
		out[i], _ = relay.ParseTransport(t)
	}
	return out
}

func (c credentialsRequest) measurements() []relay.Measurement {
	return toMeasurements(c.Measurements)
}

func toMeasurements(ms []measurementJSON) []relay.Measurement {
	out := make([]relay.Measurement, 0, len(ms))
	for _, m := range ms {
		sm := relay.Measurement{RelayID: m.RelayID, RTT: time.Duration(*m.RTTMs * float64(time.Millisecond))}
		if m.Loss != nil {
			sm.Loss = *m.Loss
		}
		out = append(out, sm)
	}
	return out
}

type relayChoiceJSON struct {
	RelayID        string   `json:"relay_id"`
	Region         string   `json:"region"`
	Site           string   `json:"site"`
	Hostname       string   `json:"hostname,omitempty"`
	URLs           []string `json:"urls"`
	EstimatedRTTMs *float64 `json:"estimated_rtt_ms,omitempty"`
	Basis          string   `json:"basis"`
}

type iceServerJSON struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

type credentialsResponse struct {
	Username           string           `json:"username"`
	Credential         string           `json:"credential"`
	TTLSeconds         int64            `json:"ttl_seconds"`
	ExpiresAt          time.Time        `json:"expires_at"`
	Primary            relayChoiceJSON  `json:"primary"`
	Backup             *relayChoiceJSON `json:"backup,omitempty"`
	ICEServers         []iceServerJSON  `json:"ice_servers"`
	ICETransportPolicy string           `json:"ice_transport_policy"`
}

// turnResponse is GET /v1/turn's answer, the shape TURN REST clients (the
// IETF draft, Matrix's /voip/turnServer) already parse.
type turnResponse struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	TTL      int64    `json:"ttl"`
	URIs     []string `json:"uris"`
}

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

func (s *server) newRelayChoice(c relay.Choice, want []relay.Transport) relayChoiceJSON {
	rc := relayChoiceJSON{
		RelayID: c.Relay.ID, Region: c.Relay.Region, Site: c.Relay.Site, Hostname: c.Relay.Hostname,
		URLs: s.urls.urls(c.Relay, want), Basis: string(c.Basis),
	}
	if c.HasEstimate {
		ms := math.Round(c.EstimatedRTT.Seconds()*1e4) / 10 // 0.1 ms
		rc.EstimatedRTTMs = &ms
	}
	return rc
}

// issue picks relays and mints the credential both credential endpoints hand out.
func (s *server) issue(r *http.Request, ttl time.Duration, want []relay.Transport, measured []relay.Measurement) (relay.Pair, relay.Credential, error) {
	pair, err := s.deps.Picker.Pick(s.clientOf(r), want, measured)
	if err != nil {
		return pair, relay.Credential{}, err
	}
	cred := s.deps.Minter.Mint(subjectFrom(r.Context()), ttl, s.now())
	s.metrics.credentials.WithLabelValues(string(pair.Primary.Basis)).Inc()
	return pair, cred, nil
}

func (s *server) postCredentials(w http.ResponseWriter, r *http.Request) {
	req, err := decodeValid[credentialsRequest](w, r, true)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ttl := s.cfg.CredentialTTL
	if req.TTLSeconds != nil {
		ttl = time.Duration(*req.TTLSeconds) * time.Second
	}
	want := toTransports(req.Transports)
	measured := req.measurements()
	pair, cred, err := s.issue(r, ttl, want, measured)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.record(r, measured)
	a := answers.Get().(*credentialsAnswer)
	defer a.release()
	a.resp = credentialsResponse{
		Username: cred.Username, Credential: cred.Password,
		TTLSeconds: int64(ttl / time.Second), ExpiresAt: cred.Expires.UTC(),
		Primary:            s.newRelayChoice(pair.Primary, want),
		ICETransportPolicy: "relay",
	}
	a.urls = append(a.urls[:0], a.resp.Primary.URLs...)
	if pair.Backup != nil {
		a.backup = s.newRelayChoice(*pair.Backup, want)
		a.resp.Backup = &a.backup
		a.urls = append(a.urls, a.backup.URLs...)
	}
	a.ice[0] = iceServerJSON{URLs: a.urls, Username: cred.Username, Credential: cred.Password}
	a.resp.ICEServers = a.ice[:]
	writeJSON(w, http.StatusOK, &a.resp)
}

// credentialsAnswer holds one credentials answer and the parts it points
// to, reused across requests (it is done with once encoded): five
// allocations and about 600 bytes less per request.
type credentialsAnswer struct {
	resp   credentialsResponse
	backup relayChoiceJSON
	ice    [1]iceServerJSON
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
		if err != nil || !ttlInRange(n) {
			s.problem(w, r, errInvalidParam("ttl "+ttlRangeMsg, fieldError{Field: "ttl", Message: ttlRangeMsg}))
			return
		}
		ttl = time.Duration(n) * time.Second
	}
	var want []relay.Transport
	if ts := q["transport"]; len(ts) > 0 {
		if f := checkTransports(ts); f != "" {
			s.problem(w, r, errInvalidParam("transport: "+f, fieldError{Field: "transport", Message: f}))
			return
		}
		want = toTransports(ts)
	}
	pair, cred, err := s.issue(r, ttl, want, nil)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	uris := s.urls.urls(pair.Primary.Relay, want)
	if pair.Backup != nil {
		uris = slices.Concat(uris, s.urls.urls(pair.Backup.Relay, want))
	}
	writeJSON(w, http.StatusOK, turnResponse{Username: cred.Username, Password: cred.Password, TTL: int64(ttl / time.Second), URIs: uris})
}
