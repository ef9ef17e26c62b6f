package turnrelay

import (
	"log/slog"
	"net/netip"
	"strconv"
	"testing"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

func TestParsePortRange(t *testing.T) {
	for in, ok := range map[string]bool{"49152-65535": true, "3478-3478": true, "0-10": false, "10-5": false, "1-65536": false, "abc": false, "5": false} {
		if _, err := ParsePortRange(in); (err == nil) != ok {
			t.Errorf("ParsePortRange(%q) err = %v, want ok %v", in, err, ok)
		}
	}
}

func testSecrets(t *testing.T) []turncred.Secret {
	s, err := turncred.ParseSecrets("k1:0123456789abcdef0123")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigValidation(t *testing.T) {
	udp := Listener{Transport: relay.UDP, Addr: "127.0.0.1:0"}
	ok := Config{Secrets: testSecrets(t), Listeners: []Listener{udp}}
	tests := []struct {
		name string
		edit func(*Config)
		want string // in the error; "" is valid
	}{
		{name: "minimal", edit: func(*Config) {}},
		{name: "no secrets", edit: func(c *Config) { c.Secrets = nil }, want: "secrets"},
		{name: "no listener", edit: func(c *Config) { c.Listeners = nil }, want: "listeners"},
		{name: "bad listen", edit: func(c *Config) {
			c.Listeners = []Listener{{Transport: relay.UDP, Addr: "localhost:3478"}}
		}, want: "listen-udp"},
		{name: "tls without cert", edit: func(c *Config) {
			c.Listeners = []Listener{udp, {Transport: relay.TLS, Addr: "127.0.0.1:0"}}
		}, want: "listen-tls needs a certificate"},
		{name: "listener given twice", edit: func(c *Config) { c.Listeners = []Listener{udp, udp} }, want: "listen-udp: given twice"},
		{name: "unknown transport", edit: func(c *Config) {
			c.Listeners = []Listener{{Transport: relay.Transport(relay.NumTransports), Addr: "127.0.0.1:0"}}
		}, want: "not served"},
		{name: "two ipv4 public", edit: func(c *Config) {
			c.PublicIPs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
		}, want: "at most one IPv4"},
		{name: "unspecified public", edit: func(c *Config) { c.PublicIPs = []netip.Addr{netip.IPv4Unspecified()} }, want: "public-ip"},
		{name: "wildcard without public", edit: func(c *Config) {
			c.Listeners = []Listener{{Transport: relay.UDP, Addr: "0.0.0.0:0"}}
		}, want: "public-ip is required"},
		{name: "bad port range", edit: func(c *Config) { c.RelayPorts = PortRange{Min: 10, Max: 5} }, want: "relay-ports"},
		{name: "negative quota", edit: func(c *Config) { c.UserQuota = -1 }, want: "user-quota"},
		{name: "negative max-allocations", edit: func(c *Config) { c.MaxAllocations = -1 }, want: "max-allocations"},
		{name: "negative bps", edit: func(c *Config) { c.MaxBPS = -1 }, want: "max-bps"},
		{name: "invalid allow prefix", edit: func(c *Config) { c.AllowPeers = []netip.Prefix{{}} }, want: "allow-peers"},
		{name: "gateway without token", edit: func(c *Config) {
			c.Heartbeat = heartbeat.Config{GatewayURL: "http://gw", RelayID: "fra-1", Region: "eu", Site: "fra"}
		}, want: "node-token"},
		{name: "gateway bad url", edit: func(c *Config) {
			c.Heartbeat = heartbeat.Config{GatewayURL: "ftp://gw", NodeToken: "t", RelayID: "fra-1", Region: "eu", Site: "fra"}
		}, want: "gateway-url"},
		{name: "gateway bad id", edit: func(c *Config) {
			c.Heartbeat = heartbeat.Config{GatewayURL: "http://gw", NodeToken: "t", RelayID: "Fra/1", Region: "eu", Site: "fra"}
		}, want: "id"},
		{name: "gateway bad lat", edit: func(c *Config) {
			c.Heartbeat = heartbeat.Config{GatewayURL: "http://gw", NodeToken: "t", RelayID: "fra-1", Region: "eu", Site: "fra", Latitude: 91}
		}, want: "lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			s, err := New(c, slog.New(slog.DiscardHandler))
			if s != nil {
				_ = s.Close()
			}
			testenv.WantErr(t, "New()", err, tt.want, "0123456789abcdef")
		})
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
