package gateway

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if err := c.validate(); err != nil {
		t.Fatalf("zero Config: validate() = %v, want nil", err)
	}
	if c.ExploreShare != 0 || c.RefreshInterval != time.Second || c.Aggregate != (relay.AggregateConfig{}).WithDefaults() ||
		c.ProbeOff || c.HysteresisPrefixes != 100_000 || c.MeasurementQueue != 4096 {
		t.Errorf("Config{}.withDefaults() = %+v", c)
	}
	off := Config{ProbeOff: true, Probe: probe.Config{Interval: -1}}.withDefaults()
	if err := off.validate(); err != nil {
		t.Errorf("probing off with a bad probe config: validate() = %v, want nil (Probe is ignored)", err)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "negative explore share", cfg: Config{ExploreShare: -0.1}, want: "explore share -0.1"},
		{name: "explore share of one", cfg: Config{ExploreShare: 1}, want: "explore share 1"},
		{name: "explore share NaN", cfg: Config{ExploreShare: math.NaN()}, want: "explore share NaN"},
		{name: "negative refresh interval", cfg: Config{RefreshInterval: -time.Second}, want: "refresh interval -1s"},
		{name: "negative half-life", cfg: Config{Aggregate: relay.AggregateConfig{HalfLife: -time.Minute}}, want: "aggregate half-life -1m0s"},
		{name: "negative min reporters", cfg: Config{Aggregate: relay.AggregateConfig{MinReporters: -1}}, want: "aggregate min reporters -1"},
		{name: "more min reporters than are kept", cfg: Config{Aggregate: relay.AggregateConfig{MinReporters: relay.MaxReporters + 1}}, want: "aggregate min reporters 9"},
		{name: "negative max age", cfg: Config{Aggregate: relay.AggregateConfig{MaxAge: -time.Hour}}, want: "aggregate max age -1h0m0s"},
		{name: "negative hysteresis prefixes", cfg: Config{HysteresisPrefixes: -5}, want: "hysteresis prefixes -5"},
		{name: "negative measurement queue", cfg: Config{MeasurementQueue: -1}, want: "measurement queue -1"},
		{name: "invalid allowed relay network", cfg: Config{AllowRelayNetworks: []netip.Prefix{{}}}, want: "allowed relay networks: invalid allow prefix"},
		{name: "bad probe config", cfg: Config{Probe: probe.Config{Interval: time.Second, Timeout: 2 * time.Second}}, want: "timeout 2s must be shorter than interval 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.withDefaults().validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate() = %v, want ErrConfig mentioning %q", err, tt.want)
			}
			if _, err := New(tt.cfg, Deps{}); !errors.Is(err, ErrConfig) {
				t.Errorf("New() error = %v, want ErrConfig", err)
			}
		})
	}
}
