package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/internal/cmdline"
	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/ratelimit"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// config is everything the flags and environment say.
type config struct {
	Listen        string
	RedisURL      string
	RedisPrefix   string
	GeoIPDB       string
	TURNSecrets   []turncred.Secret
	SecretsRandom bool // no --turn-secrets: a random one for this process only
	PseudonymKey  []byte
	API           api.Config
	LogLevel      slog.Level
	ShutdownGrace time.Duration
	ShutdownDelay time.Duration
	PprofListen   string
	MetricsListen string // "": /metrics on the API listener
	Replica       string
	Probe         probe.Config // Interval 0: probing off
	ExploreShare  float64
	Rates         map[string]ratelimit.Rule // by api scope; off rules admit everything
	// AllowRelayNetworks are networks outside the public Internet where
	// relays may nevertheless register (gateway.Config.AllowRelayNetworks).
	AllowRelayNetworks []netip.Prefix
	// StoreGrace is gateway.Config.StoreGrace: negative for none.
	StoreGrace time.Duration
	// StaticRelays is the static relays file (package staticrelay); empty:
	// none, only relays that heartbeat.
	StaticRelays string
	// Jurisdiction is the operator's country policy
	// (gateway.Config.Jurisdiction), from --allow-countries and
	// --deny-countries.
	Jurisdiction relay.Jurisdiction
}

// envName is the environment twin of a flag: --redis-url ⇔ RELAYGATE_REDIS_URL.
func envName(flagName string) string { return cmdline.EnvName("RELAYGATE_", flagName) }

// listFlags take comma-separated lists, which a --config file may also
// give as YAML lists.
var listFlags = map[string]bool{"turn-secrets": true, "trusted-proxies": true, "cors-origins": true, "allow-relay-networks": true,
	"allow-countries": true, "deny-countries": true}

// keyFlags are the flags that configure one JWT role.
type keyFlags struct {
	secret, publicKey, issuer, audience *string
	maxAge                              *time.Duration
}

func addKeyFlags(fs *flag.FlagSet, role, who string) keyFlags {
	return keyFlags{
		secret:    fs.String(role+"-jwt-secret", "", "HS256 secret (32+ bytes) that verifies "+who+" tokens"),
		publicKey: fs.String(role+"-jwt-public-key", "", "PEM public key (Ed25519, ECDSA, RSA), inline or a file path, that verifies "+who+" tokens"),
		issuer:    fs.String(role+"-jwt-issuer", "", "required \"iss\" of "+who+" tokens (any when empty)"),
		audience:  fs.String(role+"-jwt-audience", "", "required \"aud\" of "+who+" tokens (any when empty)"),
		maxAge:    fs.Duration(role+"-jwt-max-age", 0, "refuse "+who+" tokens issued (iat) longer ago than this, and tokens without iat; 0: any age until exp"),
	}
}

func (k keyFlags) config(role string) (api.KeyConfig, error) {
	kc := api.KeyConfig{Secret: []byte(*k.secret), Issuer: *k.issuer, Audience: *k.audience, MaxAge: *k.maxAge}
	if kc.MaxAge < 0 {
		return kc, fmt.Errorf("--%s-jwt-max-age %v must not be negative", role, kc.MaxAge)
	}
	if pk := *k.publicKey; pk != "" {
		if strings.Contains(pk, "-----BEGIN") {
			kc.PublicKeyPEM = []byte(pk)
		} else {
			b, err := os.ReadFile(pk) //nolint:gosec // G304: the file the operator named in --<role>-jwt-public-key
			if err != nil {
				return kc, fmt.Errorf("--%s-jwt-public-key: %w", role, err)
			}
			kc.PublicKeyPEM = b
		}
	}
	return kc, nil
}

// parseConfig reads flags, then the environment for flags not given, then
// the --config file for flags neither gives. Secret values never appear in
// --help defaults or in errors.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("relaygate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP listen address")
	redisURL := fs.String("redis-url", "", "Redis URL (redis://, rediss://, unix://, redis+sentinel://, redis+cluster://); empty keeps the registry in memory")
	redisPrefix := fs.String("redis-prefix", "relaygate:", "prefix of every Redis key, so several deployments can share one Redis")
	geoipDB := fs.String("geoip-db", "", "GeoIP2/GeoLite2 City mmdb path; reloaded when the file is replaced; empty ranks without location")
	turnSecrets := fs.String("turn-secrets", "", "TURN REST secrets id:secret,... newest first (newest mints); empty: one random secret for this process")
	pseudonymKey := fs.String("pseudonym-key", "", "key (16+ bytes) that turns token subjects into pseudonyms; same on every replica; empty: derived from the oldest TURN secret")
	user := addKeyFlags(fs, "user", "client apps' user")
	node := addKeyFlags(fs, "node", "relay nodes'")
	admin := addKeyFlags(fs, "admin", "operators'")
	trusted := fs.String("trusted-proxies", "", "CIDRs whose X-Forwarded-For is believed (none)")
	corsOrigins := fs.String("cors-origins", "", "origins allowed to call the credential, candidate and measurement endpoints from a browser, e.g. https://app.example; * for any (none)")
	hbTTL := fs.Duration("heartbeat-ttl", 15*time.Second, "a relay not heard from for this long is forgotten")
	credTTL := fs.Duration("credential-ttl", 24*time.Hour, "default lifetime of minted credentials (60s..48h)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	grace := fs.Duration("shutdown-grace", 10*time.Second, "how long in-flight requests may finish after SIGTERM")
	probeInterval := fs.Duration("probe-interval", 5*time.Second, "STUN probe period per relay; 0 turns probing off (relays are then judged by heartbeats alone)")
	explore := fs.Float64("explore-share", 0.03, "share of answers whose backup is another site's relay picked at random, so client measurements keep covering every relay (0..0.5)")
	replica := fs.String("replica", defaultReplica(), "this gateway's name among replicas sharing a Redis (its probe results are kept apart)")
	pprofListen := fs.String("pprof-listen", "", "serve Go's /debug/pprof on this address, for profiling (off; keep it on loopback)")
	metricsListen := fs.String("metrics-listen", "", "serve /metrics on this address instead of the API's listener, so it need not be public (off: on the API listener)")
	rates := addRateFlags(fs)
	delay := fs.Duration("shutdown-delay", 0, "after SIGTERM, how long /readyz answers 503 while the listener still serves, so load balancers stop sending first")
	storeGrace := fs.Duration("store-grace", 5*time.Minute, "while the store is unreachable, how long credentials keep being minted from the last relay snapshot (relays fresh then stay eligible unless probes find them dead); 0: none, relays leave at their heartbeat TTL")
	demo := fs.Bool("demo", false, "serve GET /demo/token, which mints a 10-minute user token (signed with --user-jwt-secret) for whoever asks, for the demo page at /demo; only with --listen on loopback (off)")
	allowRelayNets := fs.String("allow-relay-networks", "", "CIDRs outside the public Internet (loopback, private, link-local, CGNAT, documentation...) where relays may nevertheless register, e.g. 127.0.0.0/8 for a loopback lab or a private deployment's ranges (none: such heartbeats get 422)")
	allowCountries := fs.String("allow-countries", "", "ISO 3166-1 alpha-2 codes, e.g. DE,FR,NL: only relays in these countries are ever selected; tokens and requests may narrow this, never widen it (any country)")
	denyCountries := fs.String("deny-countries", "", "ISO 3166-1 alpha-2 codes, e.g. US: relays in these countries are never selected; with this or --allow-countries, a relay of unknown country (none stated, GeoIP does not place it) is never selected either (none)")
	staticRelays := fs.String("static-relays", "", "YAML file of relays that never heartbeat (stock coturn servers sharing the TURN secret): relays: [{id, region, site, addresses, ports, ...}], judged by probes alone; re-read when replaced, a bad version keeps the last good one (none)")
	// The environment, then the --config file, for flags not given: the
	// command line wins. A refused value is never shown (it may be a
	// secret); every flag here is of the flag package's types, whose
	// reasons do not repeat it.
	src := cmdline.Sources{Env: cmdline.Env{Getenv: getenv, Name: envName, HideValues: true}, Lists: listFlags}
	if err := src.ParseCommand(fs, args, "relaygate is the gateway: the registry of TURN relays, relay selection for each client, and TURN credentials."); err != nil {
		return config{}, err
	}

	cfg := config{
		Listen: *listen, RedisURL: *redisURL, RedisPrefix: *redisPrefix, GeoIPDB: *geoipDB,
		ShutdownGrace: *grace, ShutdownDelay: *delay, StaticRelays: *staticRelays,
		Replica: *replica, ExploreShare: *explore, PprofListen: *pprofListen, MetricsListen: *metricsListen,
		// A probe times out after a fifth of the interval (1 s at most), so a
		// dead relay is down (three misses, retried at once) well within two
		// intervals.
		Probe: probe.Config{Interval: *probeInterval, Timeout: min(time.Second, *probeInterval/5)},
		API:   api.Config{HeartbeatTTL: *hbTTL, CredentialTTL: *credTTL},
	}
	var errs []error
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel))
	}
	if *turnSecrets == "" {
		cfg.SecretsRandom = true
		s, err := turncred.NewSecret("r0", randomKey())
		if err != nil {
			return cfg, err
		}
		cfg.TURNSecrets = []turncred.Secret{s}
	} else {
		s, err := turncred.ParseSecrets(*turnSecrets)
		if err != nil {
			errs = append(errs, fmt.Errorf("--turn-secrets: %w", err))
		}
		cfg.TURNSecrets = s
	}
	switch {
	case *pseudonymKey != "":
		cfg.PseudonymKey = []byte(*pseudonymKey)
		if len(cfg.PseudonymKey) < turncred.MinSecretLen {
			errs = append(errs, fmt.Errorf("--pseudonym-key: shorter than %d bytes", turncred.MinSecretLen))
		}
	case len(cfg.TURNSecrets) > 0:
		cfg.PseudonymKey = turncred.DerivePseudonymKey(cfg.TURNSecrets[len(cfg.TURNSecrets)-1])
	}
	for _, s := range splitList(*trusted) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				errs = append(errs, fmt.Errorf("--trusted-proxies: %q is not a CIDR", s))
				continue
			}
		}
		cfg.API.TrustedProxies = append(cfg.API.TrustedProxies, p.Masked())
	}
	cfg.API.CORSOrigins = splitList(*corsOrigins)
	cfg.API.Demo = *demo
	if *demo {
		if err := demoListen(*listen); err != nil {
			errs = append(errs, err)
		}
		if *user.secret == "" {
			errs = append(errs, errors.New("--demo mints user tokens: it needs --user-jwt-secret"))
		}
	}
	var err error
	if cfg.API.User, err = user.config("user"); err != nil {
		errs = append(errs, err)
	}
	if cfg.API.Node, err = node.config("node"); err != nil {
		errs = append(errs, err)
	}
	if cfg.API.Admin, err = admin.config("admin"); err != nil {
		errs = append(errs, err)
	}
	if cfg.AllowRelayNetworks, err = netpolicy.ParsePrefixes(*allowRelayNets); err != nil {
		errs = append(errs, fmt.Errorf("--allow-relay-networks: %w", err))
	}
	if cfg.Jurisdiction, err = parseJurisdiction(*allowCountries, *denyCountries); err != nil {
		errs = append(errs, err)
	}
	switch {
	case *storeGrace < 0:
		errs = append(errs, fmt.Errorf("--store-grace %v must not be negative", *storeGrace))
	case *storeGrace == 0:
		cfg.StoreGrace = -1 // none; the gateway's zero is its default
	default:
		cfg.StoreGrace = *storeGrace
	}
	if *probeInterval < 0 || (*probeInterval > 0 && *probeInterval < 100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("--probe-interval %v: want 0 (off) or at least 100ms", *probeInterval))
	}
	if *staticRelays != "" && *probeInterval == 0 {
		errs = append(errs, errors.New("--static-relays needs probing: static relays never heartbeat, so probes are all that tells a dead one; set --probe-interval above 0"))
	}
	if *explore < 0 || *explore > 0.5 {
		errs = append(errs, fmt.Errorf("--explore-share %v out of range 0..0.5", *explore))
	}
	if cfg.Rates, err = rates.rules(); err != nil {
		errs = append(errs, err)
	}
	if cfg.ShutdownDelay < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-delay %v must not be negative", cfg.ShutdownDelay))
	}
	if cfg.ShutdownGrace <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-grace %v must be positive", cfg.ShutdownGrace))
	}
	return cfg, errors.Join(errs...)
}

// demoListen allows --demo only when --listen is on a loopback address (or
// localhost): GET /demo/token gives a user token to anyone who can reach
// the gateway, so only this machine may.
func demoListen(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("--demo mints user tokens for anyone who asks: it needs --listen on a loopback address such as 127.0.0.1:8080, not %q", listen)
}

// defaultReplica names this gateway after its host, which is what tells
// replicas apart in most deployments (a Kubernetes pod, a VM).
func defaultReplica() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "default"
	}
	var b strings.Builder
	for _, c := range h {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		}
	}
	return cmp.Or(b.String()[:min(b.Len(), 64)], "default")
}

// parseJurisdiction is the policy of --allow-countries and
// --deny-countries; a code that is no assigned country is an error (left
// out, it would silently widen a deny list).
func parseJurisdiction(allow, deny string) (relay.Jurisdiction, error) {
	var lists [2][]relay.Country
	for i, f := range []struct{ name, v string }{{"allow-countries", allow}, {"deny-countries", deny}} {
		cs, err := relay.ParseCountries(splitList(f.v))
		if err != nil {
			return relay.Jurisdiction{}, fmt.Errorf("--%s: %w", f.name, err)
		}
		lists[i] = cs
	}
	return relay.NewJurisdiction(lists[0], lists[1]), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// rateFlags are the rate-limit rules by api scope, each "LIMIT/WINDOW[,burst=N]" or "off".
type rateFlags map[string]*string

// Default rate limits: far above what a real client does. relaygate.js
// fetches credentials once per call, refreshes them at 80 % of their
// lifetime (48 s at the shortest, 60 s, TTL) and reports measurements every
// 30 s, and asks about its call's relays every 5 s (--rate-calls allows
// several calls per user); a relay heartbeats every third of --heartbeat-ttl (1 s at the
// shortest, 3 s, TTL). A /24 can hold a whole office or a carrier's NAT,
// hence its large budget.
var rateDefaults = []struct{ scope, rule, what string }{
	{"user", "60/1m,burst=20", "requests per user-token subject to POST /v1/credentials, GET /v1/turn and GET /v1/candidates together"},
	{"prefix", "6000/1m,burst=1000", "requests per client prefix (/24, /48) to the credential, candidate and measurement endpoints"},
	{"measurements", "20/1m,burst=10", "POST /v1/measurements per user-token subject (one reporter)"},
	{"relay", "120/1m,burst=30", "heartbeats per relay id"},
	{"calls", "60/1m,burst=20", "GET /v1/call-relays per user-token subject (relaygate.js asks every 5 s during a call)"},
}

func addRateFlags(fs *flag.FlagSet) rateFlags {
	rf := rateFlags{}
	for _, d := range rateDefaults {
		rf[d.scope] = fs.String("rate-"+d.scope, d.rule, "rate limit of "+d.what+": LIMIT/WINDOW[,burst=N], or off")
	}
	return rf
}

func (rf rateFlags) rules() (map[string]ratelimit.Rule, error) {
	rules := make(map[string]ratelimit.Rule, len(rf))
	var errs []error
	for scope, v := range rf {
		r, err := ratelimit.ParseRule(*v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--rate-%s: %w", scope, err))
		}
		rules[scope] = r
	}
	return rules, errors.Join(errs...)
}
