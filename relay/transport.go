package relay

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Transport is a way to reach a TURN relay. Everything that differs between
// transports is a row of the table below: its name on the wire, its URI
// scheme and transport parameter (RFC 7065), and whether its URIs must name
// the relay's hostname rather than an address. Adding a transport is one
// row here plus a listener in the relay server.
type Transport uint8

// The transports a relay can offer, in the order URIs list them.
const (
	UDP Transport = iota // TURN over UDP
	TCP                  // TURN over TCP
	TLS                  // TURN over TLS over TCP (turns:)
)

type transportInfo struct {
	name          string // in JSON, flags and metrics
	scheme        string // URI scheme
	query         string // URI ?transport= value
	needsHostname bool   // URIs name the certificate's host, so need Relay.Hostname
}

var transports = [...]transportInfo{
	UDP: {name: "udp", scheme: "turn", query: "udp"},
	TCP: {name: "tcp", scheme: "turn", query: "tcp"},
	TLS: {name: "tls", scheme: "turns", query: "tcp", needsHostname: true},
}

// NumTransports is the number of transports; Transport values are
// 0..NumTransports-1.
const NumTransports = len(transports)

// Transports lists every transport in URI order.
func Transports() [NumTransports]Transport {
	var ts [NumTransports]Transport
	for i := range ts {
		ts[i] = Transport(i)
	}
	return ts
}

// ParseTransport returns the transport named s ("udp", "tcp", "tls").
func ParseTransport(s string) (Transport, bool) {
	for i, ti := range transports {
		if ti.name == s {
			return Transport(i), true
		}
	}
	return 0, false
}

// Valid reports whether t is a known transport.
func (t Transport) Valid() bool { return int(t) < NumTransports }

// String is the transport's name: "udp", "tcp", "tls".
func (t Transport) String() string {
	if !t.Valid() {
		return "invalid"
	}
	return transports[t].name
}

// Scheme is the URI scheme of the transport's TURN URIs: "turn" or "turns".
func (t Transport) Scheme() string { return transports[t].scheme }

// Query is the transport parameter of its TURN URIs: "udp" or "tcp".
func (t Transport) Query() string { return transports[t].query }

// NeedsHostname reports whether the transport's URIs name the relay's
// hostname (to verify its certificate) rather than an address.
func (t Transport) NeedsHostname() bool { return transports[t].needsHostname }

// MarshalText is the transport's name.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses a transport's name.
func (t *Transport) UnmarshalText(b []byte) error {
	v, ok := ParseTransport(string(b))
	if !ok {
		return errUnknownTransport
	}
	*t = v
	return nil
}

// Ports are a relay's listening ports, indexed by transport; 0 means the
// transport is not offered.
type Ports [NumTransports]uint16

// Port returns the port for t, 0 when the relay does not offer it.
func (p Ports) Port(t Transport) uint16 {
	if !t.Valid() {
		return 0
	}
	return p[t]
}

// Any reports whether at least one port is set.
func (p Ports) Any() bool { return p != Ports{} }

// MarshalJSON writes the offered ports as an object keyed by transport
// name, in the table's order: {"udp":3478,"tcp":3478,"tls":5349}.
func (p Ports) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for t, port := range p {
		if port == 0 {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, Transport(t).String()...)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, uint64(port), 10)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes. Names that are not
// transports are ignored (a newer writer may know more); a port outside
// 1..65535 is an error.
func (p *Ports) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	ports, err := PortsByName(m)
	if errors.Is(err, errPortRange) {
		return err
	}
	*p = ports
	return nil
}

// PortsByName reads ports keyed by transport name, the shape JSON carries
// them in. Entries that name no known transport or hold a port outside
// 1..65535 are left out and reported in the error (errors.Join of each
// kind once); the rest are returned either way.
func PortsByName(m map[string]int) (Ports, error) {
	var p Ports
	var unknown, bad error
	for name, port := range m {
		t, ok := ParseTransport(name)
		switch {
		case !ok:
			unknown = errUnknownTransport
		case port < 1 || port > 65535:
			bad = errPortRange
		default:
			p[t] = uint16(port)
		}
	}
	return p, errors.Join(unknown, bad)
}
