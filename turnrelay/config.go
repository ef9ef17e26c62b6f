package turnrelay

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relaygate/relaygate/turnrelay/quota"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// Config configures a Server. Secrets and at least one listener are
// required; everything else has a working default.
type Config struct {
	Realm        string            // TURN realm; default "relaygate"
	Secrets      []turncred.Secret // TURN REST secrets accepted, newest first; required
	StrictExpiry bool              // refuse refreshes, permissions and channel binds once the credential expired

	// Listeners: host:port, "" is off. Port 0 picks a free port (tests).
	ListenUDP string
	ListenTCP string
	ListenTLS string
	TLS       *tls.Config // certificate for ListenTLS; required when it is set

	// PublicIPs are advertised as relayed addresses (one per family at
	// most). Empty: the listeners' IP when it is a specific address.
	PublicIPs []netip.Addr
	// RelayPorts bounds the relayed ports; zero value: 49152-65535.
	RelayPorts PortRange

	AllowPeers []netip.Prefix // peers opened in the default filter
	DenyPeers  []netip.Prefix // peers closed in addition to the defaults

	MaxAllocations int   // in total; 0 is no limit
	UserQuota      int   // allocations per credential pseudonym; 0 is no limit
	MaxBPS         int64 // relayed bits per second, both directions summed; 0 is no limit

	AllocationLifetime time.Duration // when the client asks for none; default 10m
	DrainTimeout       time.Duration // longest wait for live allocations on shutdown; default 30s
	MaxConns           int           // concurrent TCP+TLS client connections; default 4096

	Heartbeat HeartbeatConfig // GatewayURL "" turns heartbeats off

	Now func() time.Time // clock for credential expiry; default time.Now
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Min, Max uint16 }

// String is the --relay-ports form.
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// Size is the number of ports in the range.
func (r PortRange) Size() int { return int(r.Max) - int(r.Min) + 1 }

// ParsePortRange parses "min-max" (1 <= min <= max <= 65535).
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return PortRange{}, fmt.Errorf("port range %q is not min-max", s)
	}
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || a == 0 || a > b {
		return PortRange{}, fmt.Errorf("port range %q must be min-max with 1 <= min <= max <= 65535", s)
	}
	return PortRange{Min: uint16(a), Max: uint16(b)}, nil
}

// quota is the part of c the allocation ledger enforces.
func (c Config) quota() quota.Config {
	return quota.Config{MaxAllocations: c.MaxAllocations, UserQuota: c.UserQuota, MaxBPS: c.MaxBPS}
}

func (c Config) withDefaults() Config {
	c.Realm = cmp.Or(c.Realm, "relaygate")
	if c.RelayPorts == (PortRange{}) {
		c.RelayPorts = PortRange{Min: 49152, Max: 65535}
	}
	c.AllocationLifetime = cmp.Or(c.AllocationLifetime, 10*time.Minute)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, 30*time.Second)
	c.MaxConns = cmp.Or(c.MaxConns, 4096)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Heartbeat = c.Heartbeat.withDefaults()
	return c
}

func (c Config) validate() error {
	var errs []error
	if len(c.Secrets) == 0 {
		errs = append(errs, errors.New("secrets: at least one id:secret is required"))
	}
	if c.ListenUDP == "" && c.ListenTCP == "" && c.ListenTLS == "" {
		errs = append(errs, errors.New("listeners: at least one of listen-udp, listen-tcp, listen-tls is required"))
	}
	for name, addr := range map[string]string{"listen-udp": c.ListenUDP, "listen-tcp": c.ListenTCP, "listen-tls": c.ListenTLS} {
		if addr == "" {
			continue
		}
		if _, err := netip.ParseAddrPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be ip:port: %w", name, addr, err))
		}
	}
	if c.ListenTLS != "" && (c.TLS == nil || (len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil)) {
		errs = append(errs, errors.New("listen-tls needs a certificate (tls-cert and tls-key)"))
	}
	var v4, v6 int
	for _, ip := range c.PublicIPs {
		switch {
		case !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast():
			errs = append(errs, fmt.Errorf("public-ip %v is not a unicast address", ip))
		case ip.Is4() || ip.Is4In6():
			v4++
		default:
			v6++
		}
	}
	if v4 > 1 || v6 > 1 {
		errs = append(errs, errors.New("public-ip takes at most one IPv4 and one IPv6 address"))
	}
	if c.RelayPorts.Min == 0 || c.RelayPorts.Min > c.RelayPorts.Max {
		errs = append(errs, fmt.Errorf("relay-ports %v must be min-max with 1 <= min <= max", c.RelayPorts))
	}
	if err := c.quota().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.AllocationLifetime < time.Second || c.AllocationLifetime > time.Hour {
		errs = append(errs, fmt.Errorf("allocation lifetime %v out of range 1s..1h", c.AllocationLifetime))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("drain-timeout %v must be >= 0", c.DrainTimeout))
	}
	if c.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("max conns %d must be >= 1", c.MaxConns))
	}
	if err := c.Heartbeat.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// HeartbeatConfig configures the heartbeat client.
type HeartbeatConfig struct {
	GatewayURL string // base URL of relaygate; "" turns heartbeats off
	NodeToken  string // node JWT presented as Bearer; never logged
	RelayID    string
	Region     string
	Site       string
	Latitude   float64
	Longitude  float64
	Hostname   string // for turns: URLs; omitted when empty
	Version    string

	Interval    time.Duration // until the gateway says otherwise; default 5s
	MaxBackoff  time.Duration // longest wait between failing attempts; default 30s
	HTTPTimeout time.Duration // one PUT; default 5s

	HTTPClient *http.Client   // default: a client with HTTPTimeout
	Rand       func() float64 // jitter source in [0,1); default math/rand/v2
	LogEvery   time.Duration  // at most one failure log per this period; default 1m
}

func (h HeartbeatConfig) withDefaults() HeartbeatConfig {
	h.Interval = cmp.Or(h.Interval, 5*time.Second)
	h.MaxBackoff = cmp.Or(h.MaxBackoff, 30*time.Second)
	h.HTTPTimeout = cmp.Or(h.HTTPTimeout, 5*time.Second)
	h.LogEvery = cmp.Or(h.LogEvery, time.Minute)
	if h.Rand == nil {
		h.Rand = rand.Float64
	}
	if h.HTTPClient == nil {
		h.HTTPClient = &http.Client{Timeout: h.HTTPTimeout}
	}
	return h
}

func (h HeartbeatConfig) validate() error {
	if h.GatewayURL == "" {
		return nil
	}
	var errs []error
	u, err := url.Parse(h.GatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, errors.New("gateway-url must be an http or https URL without query or fragment"))
	}
	if h.NodeToken == "" {
		errs = append(errs, errors.New("node-token is required with gateway-url"))
	}
	if h.RelayID == "" || !slugRE(h.RelayID) {
		errs = append(errs, fmt.Errorf("id %q must be 1-63 of a-z, 0-9, '-' (required with gateway-url)", h.RelayID))
	}
	if h.Region == "" || !slugRE(h.Region) {
		errs = append(errs, fmt.Errorf("region %q must be 1-63 of a-z, 0-9, '-' (required with gateway-url)", h.Region))
	}
	if h.Site == "" || !slugRE(h.Site) {
		errs = append(errs, fmt.Errorf("site %q must be 1-63 of a-z, 0-9, '-' (required with gateway-url)", h.Site))
	}
	if h.Latitude < -90 || h.Latitude > 90 {
		errs = append(errs, fmt.Errorf("lat %v out of range -90..90", h.Latitude))
	}
	if h.Longitude < -180 || h.Longitude > 180 {
		errs = append(errs, fmt.Errorf("lon %v out of range -180..180", h.Longitude))
	}
	if h.Interval < time.Second || h.Interval > 5*time.Minute {
		errs = append(errs, fmt.Errorf("heartbeat-interval %v out of range 1s..5m", h.Interval))
	}
	return errors.Join(errs...)
}

// slugRE matches the gateway's Slug: lowercase letters, digits and '-',
// not starting with '-'.
func slugRE(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
