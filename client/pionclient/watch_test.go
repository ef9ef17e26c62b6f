package pionclient_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/relaygate/relaygate/client/pionclient"
	"github.com/relaygate/relaygate/wire"
)

// TestWatchRefusesBadConfig: a watch without the app's renegotiation, or
// with a refresh point outside the credentials' lifetime, does not start.
func TestWatchRefusesBadConfig(t *testing.T) {
	c, err := pionclient.New("https://gw.example", pionclient.StaticToken(userToken), pionclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.API().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	renegotiate := func(context.Context, webrtc.SessionDescription) error { return nil }
	for _, tc := range []struct {
		name string
		cfg  pionclient.WatchConfig
		want string
	}{
		{"no renegotiation", pionclient.WatchConfig{}, "no Renegotiate"},
		{"refresh after expiry", pionclient.WatchConfig{Renegotiate: renegotiate, RefreshAt: 1.2}, "refresh at 1.2"},
		{"negative stall", pionclient.WatchConfig{Renegotiate: renegotiate, Stall: -1}, "stall -1ns is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := c.Watch(pc, wire.Credentials{}, tc.cfg)
			if err == nil {
				w.Stop()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Watch = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
