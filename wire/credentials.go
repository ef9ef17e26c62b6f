package wire

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Limits on a credential's lifetime (ttl_seconds, GET /v1/turn's ttl).
const (
	// MinCredentialTTL: shorter credentials expire before a call has set up
	// on a slow network.
	MinCredentialTTL = 60 * time.Second
	// MaxCredentialTTL: two days covers any call; longer-lived credentials are
	// a standing key to the relays if they leak.
	MaxCredentialTTL = 48 * time.Hour
)

// TTLRangeMessage is the FieldError message for a lifetime outside
// MinCredentialTTL..MaxCredentialTTL.
const TTLRangeMessage = "must be between 60 and 172800 seconds"

// ICETransportPolicyRelay is Credentials.ICETransportPolicy, always: only
// relayed candidates are gathered, so no address of the user leaks.
const ICETransportPolicyRelay = "relay"

// CredentialsRequest is openapi.yaml's CredentialsRequest, the optional
// body of POST /v1/credentials; its zero value asks for the defaults.
// TTLSeconds is a pointer so that an explicit 0 is refused rather than
// taken for absent; Transports are names so that Validate can name an
// unknown one.
type CredentialsRequest struct {
	TTLSeconds   *int64        `json:"ttl_seconds,omitempty"`
	Transports   []string      `json:"transports,omitempty"`
	Measurements []Measurement `json:"measurements,omitempty"`
	// AllowedCountries and ExcludeCountries narrow the jurisdiction policy
	// (see relay.Jurisdiction) for this request: ISO 3166-1 alpha-2 codes.
	AllowedCountries []string `json:"allowed_countries,omitempty"`
	ExcludeCountries []string `json:"exclude_countries,omitempty"`
}

// RelayChoice is openapi.yaml's RelayChoice: a relay chosen for a client
// and its TURN URLs. EstimatedRTTMs is nil when nothing gave an estimate
// (basis fallback).
type RelayChoice struct {
	RelayID        string        `json:"relay_id"`
	Region         string        `json:"region"`
	Site           string        `json:"site"`
	Country        relay.Country `json:"country,omitempty"` // zero (left out) when unknown
	Hostname       string        `json:"hostname,omitempty"`
	URLs           []string      `json:"urls"`
	EstimatedRTTMs *float64      `json:"estimated_rtt_ms,omitempty"`
	Basis          relay.Basis   `json:"basis"`
}

// ICEServer is openapi.yaml's ICEServer, a W3C RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// Credentials is openapi.yaml's Credentials, POST /v1/credentials' answer:
// TURN REST credentials, the chosen relays, and the two members that go
// straight into new RTCPeerConnection. Backup is nil when no relay on
// another site is eligible.
type Credentials struct {
	Username           string       `json:"username"`
	Credential         string       `json:"credential"`
	TTLSeconds         int64        `json:"ttl_seconds"`
	ExpiresAt          time.Time    `json:"expires_at"`
	Primary            RelayChoice  `json:"primary"`
	Backup             *RelayChoice `json:"backup,omitempty"`
	ICEServers         []ICEServer  `json:"ice_servers"`
	ICETransportPolicy string       `json:"ice_transport_policy"` // ICETransportPolicyRelay
}

// TurnServer is openapi.yaml's TurnServer, GET /v1/turn's answer: the
// shape TURN REST clients (the IETF draft, Matrix's /voip/turnServer)
// already parse.
type TurnServer struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	TTL      int64    `json:"ttl"` // seconds
	URIs     []string `json:"uris"`
}

// Validate returns the request's invalid fields; none when it is valid.
func (c CredentialsRequest) Validate() []FieldError {
	var fe []FieldError
	add := func(field, msg string) { fe = append(fe, FieldError{Field: field, Message: msg}) }
	if c.TTLSeconds != nil && !ValidTTLSeconds(*c.TTLSeconds) {
		add("ttl_seconds", TTLRangeMessage)
	}
	if c.Transports != nil {
		if f := CheckTransports(c.Transports); f != "" {
			add("transports", f)
		}
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"allowed_countries", c.AllowedCountries}, {"exclude_countries", c.ExcludeCountries}} {
		if l.v != nil {
			if f := CheckCountries(l.v); f != "" {
				add(l.name, f)
			}
		}
	}
	return append(fe, validateMeasurements(c.Measurements, false)...)
}

// Within is the jurisdiction policy a valid request asks for: its allowed
// countries less its excluded ones; any relay when it names neither.
func (c CredentialsRequest) Within() relay.Jurisdiction {
	return Jurisdiction(c.AllowedCountries, c.ExcludeCountries)
}

// CountryMessage is the FieldError message for a code that is not an
// assigned ISO 3166-1 alpha-2 country code.
const CountryMessage = "must be an assigned ISO 3166-1 alpha-2 country code"

// CheckCountries says what is wrong with a list of country codes
// (CredentialsRequest's lists, GET /v1/turn's exclude_countries, a token's
// claims), "" when nothing: 1 to 249 distinct assigned codes.
func CheckCountries(cs []string) string {
	if len(cs) == 0 || len(cs) > 249 {
		return "1 to 249 ISO 3166-1 alpha-2 country codes"
	}
	seen := make(map[relay.Country]bool, len(cs))
	for _, s := range cs {
		c, err := relay.ParseCountry(s)
		if err != nil {
			return "each " + CountryMessage
		}
		if seen[c] {
			return "each country at most once"
		}
		seen[c] = true
	}
	return ""
}

// Jurisdiction is the policy of an allow list and a deny list that
// CheckCountries accepted (either may be empty): see
// relay.NewJurisdiction. Should a list hold a code that is no country
// after all, the policy permits nothing: leaving the code out of a deny
// list would widen it.
func Jurisdiction(allow, deny []string) relay.Jurisdiction {
	a, errA := relay.ParseCountries(allow)
	d, errD := relay.ParseCountries(deny)
	if errA != nil || errD != nil {
		return relay.Allow()
	}
	return relay.NewJurisdiction(a, d)
}

// TTL is the lifetime a valid request asks for, def when it names none.
func (c CredentialsRequest) TTL(def time.Duration) time.Duration {
	if c.TTLSeconds == nil {
		return def
	}
	return time.Duration(*c.TTLSeconds) * time.Second
}

// RelayTransports are the transports a valid request asks for; empty for
// all.
func (c CredentialsRequest) RelayTransports() []relay.Transport {
	return ParseTransports(c.Transports)
}

// RelayMeasurements converts the measurements of a valid request.
func (c CredentialsRequest) RelayMeasurements() []relay.Measurement {
	return relayMeasurements(c.Measurements)
}

// ValidTTLSeconds reports whether a credential lifetime of s seconds is
// within MinCredentialTTL..MaxCredentialTTL.
func ValidTTLSeconds(s int64) bool {
	return s >= int64(MinCredentialTTL/time.Second) && s <= int64(MaxCredentialTTL/time.Second)
}

// CheckTransports says what is wrong with a list of transport names
// (CredentialsRequest.transports, GET /v1/turn's transport), "" when
// nothing: it needs 1 to relay.NumTransports distinct names of relay's
// transport table.
func CheckTransports(ts []string) string {
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

// ParseTransports converts a list CheckTransports accepted.
func ParseTransports(ts []string) []relay.Transport {
	out := make([]relay.Transport, len(ts))
	for i, t := range ts {
		out[i], _ = relay.ParseTransport(t)
	}
	return out
}

// NewRelayChoice is c with its TURN URLs, the estimate rounded to 0.1 ms.
func NewRelayChoice(c relay.Choice, urls []string) RelayChoice {
	rc := RelayChoice{
		RelayID: c.Relay.ID, Region: c.Relay.Region, Site: c.Relay.Site, Country: c.Relay.Country, Hostname: c.Relay.Hostname,
		URLs: urls, Basis: c.Basis,
	}
	if c.HasEstimate {
		ms := math.Round(c.EstimatedRTT.Seconds()*1e4) / 10
		rc.EstimatedRTTMs = &ms
	}
	return rc
}

// Choices are the primary and, when there is one, the backup.
func (c Credentials) Choices() []RelayChoice {
	out := []RelayChoice{c.Primary}
	if c.Backup != nil {
		out = append(out, *c.Backup)
	}
	return out
}
