package turnrelay

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/quota"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// Config configures a Server. Secrets and at least one listener are
// required; everything else has a working default.
type Config struct {
	Realm        string            // TURN realm; default "relaygate"
	Secrets      []turncred.Secret // TURN REST secrets accepted, newest first; required
	StrictExpiry bool              // refuse refreshes, permissions and channel binds once the credential expired

	// Listeners are the TURN listeners, at most one per transport.
	Listeners []Listener

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

	Heartbeat heartbeat.Config // GatewayURL "" turns heartbeats off; Now defaults to this Config's

	Now func() time.Time // the one clock: credential expiry, bandwidth budget, load, log rate limits; default time.Now
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
	if c.Heartbeat.Now == nil {
		c.Heartbeat.Now = c.Now
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if len(c.Secrets) == 0 {
		errs = append(errs, errors.New("secrets: at least one id:secret is required"))
	}
	errs = append(errs, c.validateListeners()...)
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
	if err := c.Heartbeat.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateListeners reports every listener that cannot be served: none at
// all, a transport without a listener kind or given twice, an address that
// is not ip:port, a missing certificate.
func (c Config) validateListeners() []error {
	if len(c.Listeners) == 0 {
		return []error{fmt.Errorf("listeners: at least one of %s is required", listenFlags())}
	}
	var errs []error
	var seen [relay.NumTransports]bool
	for _, l := range c.Listeners {
		name := listenFlag(l.Transport)
		switch {
		case !l.Transport.Valid() || listenerKinds[l.Transport].listen == nil:
			errs = append(errs, fmt.Errorf("listeners: transport %d is not served", l.Transport))
			continue
		case seen[l.Transport]:
			errs = append(errs, fmt.Errorf("%s: given twice", name))
			continue
		}
		seen[l.Transport] = true
		if _, err := netip.ParseAddrPort(l.Addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be ip:port: %w", name, l.Addr, err))
		}
		if NeedsCertificate(l.Transport) && (l.TLS == nil || (len(l.TLS.Certificates) == 0 && l.TLS.GetCertificate == nil)) {
			errs = append(errs, fmt.Errorf("%s needs a certificate (tls-cert and tls-key)", name))
		}
	}
	return errs
}
