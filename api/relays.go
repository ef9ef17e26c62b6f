package api

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relaygate/relaygate/relay"
)

// slugRE is what relay ids, regions and sites look like: short, lowercase,
// safe in URLs, logs and metric-free labels.
var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// maxAddresses bounds a relay's advertised addresses (URLs grow with them).
const maxAddresses = 16

// portsJSON are a relay's ports by transport name (openapi.yaml's Ports).
type portsJSON map[string]int

type amountsJSON struct {
	Allocations  int64 `json:"allocations"`
	BandwidthBPS int64 `json:"bandwidth_bps"`
}

// heartbeatRequest is PUT /v1/relays/{id}'s body.
type heartbeatRequest struct {
	Region    string       `json:"region"`
	Site      string       `json:"site"`
	Latitude  *float64     `json:"latitude"`
	Longitude *float64     `json:"longitude"`
	Addresses []string     `json:"addresses"`
	Hostname  string       `json:"hostname,omitempty"`
	Ports     portsJSON    `json:"ports"`
	Capacity  *amountsJSON `json:"capacity,omitempty"`
	Load      *amountsJSON `json:"load,omitempty"`
	Draining  bool         `json:"draining,omitempty"`
	Version   string       `json:"version,omitempty"`
}

type heartbeatResponse struct {
	TTLSeconds               int `json:"ttl_seconds"`
	HeartbeatIntervalSeconds int `json:"heartbeat_interval_seconds"`
}

func (h heartbeatRequest) validate() []fieldError {
	var fe []fieldError
	add := func(field, msg string) { fe = append(fe, fieldError{Field: field, Message: msg}) }
	for _, f := range []struct{ name, v string }{{"region", h.Region}, {"site", h.Site}} {
		if !slugRE.MatchString(f.v) {
			add(f.name, "required: 1-63 lowercase letters, digits or '-', starting with a letter or digit")
		}
	}
	if h.Latitude == nil || math.IsNaN(*h.Latitude) || *h.Latitude < -90 || *h.Latitude > 90 {
		add("latitude", "required: a number in [-90, 90]")
	}
	if h.Longitude == nil || math.IsNaN(*h.Longitude) || *h.Longitude < -180 || *h.Longitude > 180 {
		add("longitude", "required: a number in [-180, 180]")
	}
	switch {
	case len(h.Addresses) == 0:
		add("addresses", "required: 1 to 16 IP addresses")
	case len(h.Addresses) > maxAddresses:
		add("addresses", "at most 16 IP addresses")
	default:
		seen := map[netip.Addr]bool{}
		for i, s := range h.Addresses {
			a, err := netip.ParseAddr(s)
			field := fmt.Sprintf("addresses[%d]", i)
			switch {
			case err != nil || a.Zone() != "":
				add(field, "must be an IPv4 or IPv6 address without zone")
			case a.Is4In6():
				add(field, "must be a plain IPv4 address, not IPv4-mapped IPv6")
			case a.IsUnspecified() || a.IsMulticast():
				add(field, "must be a unicast address")
			case seen[a]:
				add(field, "duplicate address")
			}
			seen[a] = true
		}
	}
	if h.Hostname != "" && !validHostname(h.Hostname) {
		add("hostname", "must be a DNS name")
	}
	if len(h.Ports) == 0 {
		add("ports", "required: at least one of "+transportNames)
	}
	for _, name := range slices.Sorted(maps.Keys(h.Ports)) {
		t, ok := relay.ParseTransport(name)
		switch {
		case !ok:
			add("ports."+truncate(name, 16), "not a transport: one of "+transportNames)
		case h.Ports[name] < 1 || h.Ports[name] > 65535:
			add("ports."+name, "must be a port in 1-65535")
		case t.NeedsHostname() && h.Hostname == "":
			add("hostname", "required with ports."+name+": "+t.Scheme()+": URLs name the certificate's host")
		}
	}
	for _, a := range []struct {
		name string
		v    *amountsJSON
	}{{"capacity", h.Capacity}, {"load", h.Load}} {
		if a.v == nil {
			continue
		}
		if a.v.Allocations < 0 {
			add(a.name+".allocations", "must be >= 0")
		}
		if a.v.BandwidthBPS < 0 {
			add(a.name+".bandwidth_bps", "must be >= 0")
		}
	}
	if len(h.Version) > 64 || strings.ContainsFunc(h.Version, func(r rune) bool { return r < ' ' || r > '~' }) {
		add("version", "at most 64 printable ASCII characters")
	}
	return fe
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// relay converts a validated heartbeat into the registry's value.
func (h heartbeatRequest) relay(id string) relay.Relay {
	r := relay.Relay{
		ID: id, Region: h.Region, Site: h.Site,
		Location: relay.Location{Latitude: *h.Latitude, Longitude: *h.Longitude},
		Hostname: strings.ToLower(strings.TrimSuffix(h.Hostname, ".")),
		Draining: h.Draining, Version: h.Version,
	}
	for _, s := range h.Addresses {
		r.Addresses = append(r.Addresses, netip.MustParseAddr(s))
	}
	r.Ports, _ = relay.PortsByName(h.Ports) // validated
	if h.Capacity != nil {
		r.Capacity = relay.Capacity{Allocations: h.Capacity.Allocations, BandwidthBPS: h.Capacity.BandwidthBPS}
	}
	if h.Load != nil {
		r.Load = relay.Load{Allocations: h.Load.Allocations, BandwidthBPS: h.Load.BandwidthBPS}
	}
	return r
}

// relayID reads and checks the {id} path parameter.
func relayID(r *http.Request) (string, error) {
	id := chi.URLParam(r, "id")
	if !slugRE.MatchString(id) {
		return "", errInvalidParam("relay id must be 1-63 lowercase letters, digits or '-'",
			fieldError{Field: "id", Message: "not a relay id"})
	}
	return id, nil
}

func (s *server) putRelay(w http.ResponseWriter, r *http.Request) {
	id, err := relayID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if sub := subjectFrom(r.Context()); sub != id {
		s.metrics.authFailures.WithLabelValues(roleNode.String(), "subject_mismatch").Inc()
		s.problem(w, r, errForbidden("the node token's subject does not match the relay id"))
		return
	}
	req, err := decodeValid[heartbeatRequest](w, r, false)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.deps.Registry.Heartbeat(r.Context(), req.relay(id), s.cfg.HeartbeatTTL); err != nil {
		s.problem(w, r, err)
		return
	}
	s.metrics.heartbeats.Inc()
	writeJSON(w, http.StatusOK, heartbeatResponse{
		TTLSeconds:               int(s.cfg.HeartbeatTTL / time.Second),
		HeartbeatIntervalSeconds: int(max(s.cfg.HeartbeatTTL/3, time.Second) / time.Second),
	})
}

// relayStatus is one relay as operators see it.
type relayStatus struct {
	ID                  string      `json:"id"`
	Region              string      `json:"region"`
	Site                string      `json:"site"`
	Latitude            float64     `json:"latitude"`
	Longitude           float64     `json:"longitude"`
	Addresses           []string    `json:"addresses"`
	Hostname            string      `json:"hostname,omitempty"`
	Ports               relay.Ports `json:"ports"`
	Capacity            amountsJSON `json:"capacity"`
	Load                amountsJSON `json:"load"`
	Draining            bool        `json:"draining"`
	Drained             bool        `json:"drained"`
	Version             string      `json:"version,omitempty"`
	LastSeen            time.Time   `json:"last_seen"`
	ExpiresAt           time.Time   `json:"expires_at"`
	HeartbeatAgeSeconds float64     `json:"heartbeat_age_seconds"`
	State               string      `json:"state"`
	Probe               *probeJSON  `json:"probe,omitempty"`
}

type probeJSON struct {
	RTTMs    float64   `json:"rtt_ms"`
	MinRTTMs float64   `json:"min_rtt_ms"`
	JitterMs float64   `json:"jitter_ms"`
	Loss     float64   `json:"loss"`
	Health   string    `json:"health"`
	ProbedAt time.Time `json:"probed_at"`
}

func millis(d time.Duration) float64 { return math.Round(d.Seconds()*1e5) / 100 } // 0.01 ms

type relaysResponse struct {
	Relays []relayStatus `json:"relays"`
}

func newRelayStatus(r relay.Relay, now time.Time) relayStatus {
	st := relayStatus{
		ID: r.ID, Region: r.Region, Site: r.Site,
		Latitude: r.Location.Latitude, Longitude: r.Location.Longitude,
		Addresses: make([]string, 0, len(r.Addresses)),
		Hostname:  r.Hostname,
		Ports:     r.Ports,
		Capacity:  amountsJSON{Allocations: r.Capacity.Allocations, BandwidthBPS: r.Capacity.BandwidthBPS},
		Load:      amountsJSON{Allocations: r.Load.Allocations, BandwidthBPS: r.Load.BandwidthBPS},
		Draining:  r.Draining, Drained: r.Drained, Version: r.Version,
		LastSeen: r.LastSeen.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		HeartbeatAgeSeconds: math.Round(max(now.Sub(r.LastSeen), 0).Seconds()*1000) / 1000,
	}
	for _, a := range r.Addresses {
		st.Addresses = append(st.Addresses, a.String())
	}
	if p := r.Probe; p.Health != relay.HealthUnknown {
		st.Probe = &probeJSON{RTTMs: millis(p.RTT), MinRTTMs: millis(p.MinRTT), JitterMs: millis(p.Jitter),
			Loss: p.Loss, Health: string(p.Health), ProbedAt: p.ProbedAt.UTC()}
	}
	st.State = string(r.State())
	return st
}

func (s *server) getRelays(w http.ResponseWriter, r *http.Request) {
	rs, err := s.deps.Registry.Relays(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.now()
	out := relaysResponse{Relays: make([]relayStatus, 0, len(rs))}
	for _, rl := range rs {
		out.Relays = append(out.Relays, newRelayStatus(rl, now))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getRelay(w http.ResponseWriter, r *http.Request) {
	id, err := relayID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rl, err := s.deps.Registry.Relay(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newRelayStatus(rl, s.now()))
}

func (s *server) postDrain(w http.ResponseWriter, r *http.Request)   { s.setDrained(w, r, true) }
func (s *server) deleteDrain(w http.ResponseWriter, r *http.Request) { s.setDrained(w, r, false) }

func (s *server) setDrained(w http.ResponseWriter, r *http.Request, drained bool) {
	id, err := relayID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.deps.Registry.SetDrained(r.Context(), id, drained); err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("relay drain mark changed", "relay_id", id, "drained", drained)
	rl, err := s.deps.Registry.Relay(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newRelayStatus(rl, s.now()))
}
