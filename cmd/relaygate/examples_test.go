package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/store"
)

// TestExampleConfigs: every relaygate config file among the deployment
// examples (deployments/relaygate.example.yaml, the Kubernetes ConfigMap)
// loads through the real parser, so the examples cannot rot.
func TestExampleConfigs(t *testing.T) {
	for _, ex := range testenv.ExampleConfigs(t, "relaygate") {
		t.Run(ex.Source, func(t *testing.T) {
			cfg, err := parseConfig([]string{"--config", ex.Path}, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatalf("%s: %v", ex.Source, err)
			}
			if cfg.Listen == "" || cfg.API.CredentialTTL != 24*time.Hour || len(cfg.API.TrustedProxies) == 0 {
				t.Errorf("%s: listen %q, credential TTL %v, trusted proxies %v: the file was not applied",
					ex.Source, cfg.Listen, cfg.API.CredentialTTL, cfg.API.TrustedProxies)
			}
		})
	}
}

// TestConfigFile: the file sets flags by name, lists as YAML lists or comma
// strings; the environment and the command line win over it; a bad value
// is refused naming the file's key and line, never its value.
func TestConfigFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "relaygate.yaml")
	data := "listen: 127.0.0.1:1111\nheartbeat-ttl: 20s\ncredential-ttl: 2h\nexplore-share: 0.1\n" +
		"turn-secrets:\n  - k2:0123456789abcdef0123\n  - k1:abcdef0123456789abcd\ncors-origins: https://a.example,https://b.example\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RELAYGATE_CONFIG": file, "RELAYGATE_HEARTBEAT_TTL": "30s"}
	cfg, err := parseConfig([]string{"--credential-ttl", "3h"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:1111" || cfg.API.HeartbeatTTL != 30*time.Second || cfg.API.CredentialTTL != 3*time.Hour ||
		cfg.ExploreShare != 0.1 || len(cfg.TURNSecrets) != 2 || cfg.TURNSecrets[0].ID != "k2" || len(cfg.API.CORSOrigins) != 2 {
		t.Errorf("config = listen %s, heartbeat TTL %v (env), credential TTL %v (flag), explore %v, secrets %d, origins %v",
			cfg.Listen, cfg.API.HeartbeatTTL, cfg.API.CredentialTTL, cfg.ExploreShare, len(cfg.TURNSecrets), cfg.API.CORSOrigins)
	}

	tests := []struct{ name, data, want string }{
		{name: "bad duration", data: "listen: x\nprobe-interval: soon\n", want: "relaygate.yaml:2: probe-interval: invalid duration"},
		{name: "unknown key", data: "listen-addr: x\n", want: "relaygate.yaml:1: listen-addr: unknown key"},
		{name: "list for a scalar", data: "listen: [a, b]\n", want: "relaygate.yaml:1: listen: takes one value, not a list"},
		{name: "short secret", data: "turn-secrets: [k1:0123456789]\n", want: "--turn-secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := parseConfig([]string{"--config", file}, func(string) string { return "" }, io.Discard)
			testenv.WantErr(t, "parseConfig()", err, tt.want, "0123456789")
		})
	}
}

// TestHelp: --help names every flag's environment twin, --config among
// them, and each Redis URL scheme it lists is one the store accepts.
func TestHelp(t *testing.T) {
	var help strings.Builder
	if _, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &help); err == nil {
		t.Fatal("parseConfig(--help) = nil error, want flag.ErrHelp")
	}
	for _, w := range []string{"[$RELAYGATE_LISTEN]", "[$RELAYGATE_REDIS_URL]", "[$RELAYGATE_CONFIG]", "--version", "Exit status"} {
		if !strings.Contains(help.String(), w) {
			t.Errorf("--help lacks %q", w)
		}
	}
	line := regexp.MustCompile(`(?m)^ {2}--redis-url string\n.*$`).FindString(help.String())
	schemes := regexp.MustCompile(`[a-z+]+://`).FindAllString(line, -1)
	if len(schemes) < 5 {
		t.Fatalf("--redis-url help names %v, want the five schemes: %q", schemes, line)
	}
	if redisSchemeAccepted(t, "redis-sentinel://") {
		t.Fatal("the store takes redis-sentinel://: this check cannot tell")
	}
	for _, s := range schemes {
		if !redisSchemeAccepted(t, s) {
			t.Errorf("--redis-url help names %s, which the store refuses", s)
		}
	}
}

// redisSchemeAccepted reports whether the store takes a URL of scheme
// ("redis+sentinel://"): opening one at a closed loopback port fails to
// connect, not as a bad config.
func redisSchemeAccepted(t *testing.T, scheme string) bool {
	t.Helper()
	u := scheme + "127.0.0.1:1/0"
	switch {
	case strings.HasPrefix(scheme, "unix"):
		u = scheme + "/nonexistent/redis.sock"
	case strings.Contains(scheme, "sentinel"):
		u = scheme + "127.0.0.1:1?master_name=m"
	case strings.Contains(scheme, "cluster"):
		u = scheme + "127.0.0.1:1"
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // no need to wait for the refused connection
	r, err := store.OpenRedis(ctx, store.RedisConfig{URL: u, Replica: "r1", PrivacyKey: []byte("privacy-key-0123456789abcdef-0123")})
	if err == nil {
		r.Close()
		return true
	}
	return !errors.Is(err, store.ErrConfig)
}
