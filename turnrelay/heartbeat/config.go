package heartbeat

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Config configures the heartbeat client.
type Config struct {
	GatewayURL string // base URL of relaygate; "" turns heartbeats off
	NodeToken  string // node JWT presented as Bearer; never logged
	RelayID    string
	Region     string
	Site       string
	Latitude   float64
	Longitude  float64
	Country    relay.Country // where the relay is, for jurisdiction policies; zero: not stated (the gateway asks GeoIP)
	Hostname   string        // for turns: URLs; omitted when empty
	Version    string

	Interval    time.Duration // until the gateway says otherwise; default 5s
	MaxBackoff  time.Duration // longest wait between failing attempts; default 30s
	HTTPTimeout time.Duration // one PUT; default 5s

	HTTPClient *http.Client     // default: a client with HTTPTimeout
	Rand       func() float64   // jitter source in [0,1); default math/rand/v2
	LogEvery   time.Duration    // at most one failure log per this period; default 1m
	Now        func() time.Time // clock for log rate limiting; default time.Now (turnrelay passes its own)
	// Revoked receives the revocations of every accepted heartbeat's
	// answer, on Run's goroutine; nil: they are ignored.
	Revoked func(Revocations)

	// Usage gives each heartbeat's usage report and hears the gateway's
	// acknowledgements (usage.Meter); nil sends none.
	Usage Usage
}

// Usage is the source of heartbeats' usage reports. Report returns the
// report to send (nil: none), the same one until Ack names its Seq.
type Usage interface {
	Report() *relay.UsageReport
	Ack(seq uint64)
}

// defaultInterval is the heartbeat period until the gateway names one: a
// third of the gateway's usual 15 s TTL, so one lost heartbeat never
// expires a relay.
const defaultInterval = 5 * time.Second

func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, defaultInterval)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, 30*time.Second)
	c.HTTPTimeout = cmp.Or(c.HTTPTimeout, 5*time.Second)
	c.LogEvery = cmp.Or(c.LogEvery, time.Minute)
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.HTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every rejected setting, named by its relaynode flag. A
// Config without GatewayURL (heartbeats off) is valid, and so is a zero
// Interval (the default).
func (c Config) Validate() error {
	if c.GatewayURL == "" {
		return nil
	}
	var errs []error
	u, err := url.Parse(c.GatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, errors.New("gateway-url must be an http or https URL without query or fragment"))
	}
	if c.NodeToken == "" {
		errs = append(errs, errors.New("node-token is required with gateway-url"))
	}
	if c.RelayID == "" || !isSlug(c.RelayID) {
		errs = append(errs, fmt.Errorf("id %q must be 1-63 of a-z, 0-9, '-' (required with gateway-url)", c.RelayID))
	}
	if c.Region == "" || !isSlug(c.Region) {
		errs = append(errs, fmt.Errorf("region %q must be 1-63 of a-z, 0-9, '-' (required with gateway-url)", c.Region))
	}
	if c.Site == "" || !isSlug(c.Site) {
		errs = append(errs, fmt.Errorf("site %q must be 1-63 of a-z, 0-9, '-' (required with gateway-url)", c.Site))
	}
	if c.Latitude < -90 || c.Latitude > 90 {
		errs = append(errs, fmt.Errorf("lat %v out of range -90..90", c.Latitude))
	}
	if c.Longitude < -180 || c.Longitude > 180 {
		errs = append(errs, fmt.Errorf("lon %v out of range -180..180", c.Longitude))
	}
	if iv := cmp.Or(c.Interval, defaultInterval); iv < time.Second || iv > 5*time.Minute {
		errs = append(errs, fmt.Errorf("heartbeat-interval %v out of range 1s..5m", iv))
	}
	return errors.Join(errs...)
}

// isSlug matches the gateway's Slug: lowercase letters, digits and '-',
// not starting with '-'.
func isSlug(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
