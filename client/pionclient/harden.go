package pionclient

import (
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// Harden makes se safe for a relay-only peer connection, whatever was set
// on it before: pion's ICE agent gets a network over base (the host's
// when nil) that lists no interfaces and reports every socket's local
// address as the unspecified one (see the package comment), multicast DNS,
// ICE lite, address rewrite rules and any proxy dialer (whose connections
// would report a local address of their own) are turned off. Call it last,
// after the app's own settings.
func Harden(se *webrtc.SettingEngine, base transport.Net) error {
	n, err := hardenedNet(base)
	if err != nil {
		return err
	}
	se.SetNet(n)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetLite(false)
	se.SetIncludeLoopbackCandidate(false)
	se.SetICEProxyDialer(nil)
	if err := se.SetICEAddressRewriteRules(); err != nil {
		return fmt.Errorf("pionclient: clear address rewrite rules: %w", err)
	}
	return nil
}

// hardenedNet is the sealed network over base (the host's when nil).
func hardenedNet(base transport.Net) (transport.Net, error) {
	if base == nil {
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("pionclient: host network: %w", err)
		}
		base = n
	}
	return sealedNet{base}, nil
}

// NewAPI returns a pion API whose peer connections signal no local
// address: settings (may be nil) tunes a fresh SettingEngine, then Harden
// runs on it over base (nil for the host's network); options (a
// MediaEngine, an interceptor registry) apply before it. Use it with
// Configuration, or let Client do both.
func NewAPI(settings func(*webrtc.SettingEngine), base transport.Net, options ...func(*webrtc.API)) (*webrtc.API, error) {
	var se webrtc.SettingEngine
	if settings != nil {
		settings(&se)
	}
	if err := Harden(&se, base); err != nil {
		return nil, err
	}
	// Ours last, so that an option carrying its own SettingEngine cannot
	// replace the hardened one.
	return webrtc.NewAPI(append(options[:len(options):len(options)], webrtc.WithSettingEngine(se))...), nil
}
