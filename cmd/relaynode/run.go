package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/relaygate/relaygate/internal/cmdline"
	"github.com/relaygate/relaygate/internal/metric"
	"github.com/relaygate/relaygate/netpolicy"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
	"github.com/relaygate/relaygate/turnrelay/certfile"
	"github.com/relaygate/relaygate/turnrelay/heartbeat"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

const version = "0.1.0"

type config struct {
	relay         turnrelay.Config
	tlsCert       string // --tls-cert; "" when no listener needs one
	tlsKey        string // --tls-key
	metricsListen string
	cpuProfile    string
	logLevel      slog.Level
}

// secretFlags never appear in errors or --help defaults.
var secretFlags = map[string]bool{"secrets": true, "node-token": true}

// listFlags take comma-separated lists, which a --config file may also
// give as YAML lists.
var listFlags = map[string]bool{"secrets": true, "public-ip": true, "allow-peers": true, "deny-peers": true}

// envName is the environment twin of a flag: --gateway-url ⇔ RELAYNODE_GATEWAY_URL.
func envName(flagName string) string { return cmdline.EnvName("RELAYNODE_", flagName) }

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("relaynode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		id                    = fs.String("id", "", "relay id reported in heartbeats (the node token's sub)")
		region                = fs.String("region", "", "region reported in heartbeats")
		site                  = fs.String("site", "", "site reported in heartbeats")
		hostname              = fs.String("hostname", "", "name on the TLS certificate, advertised for turns: URLs")
		lat                   = fs.Float64("lat", 0, "latitude reported in heartbeats")
		lon                   = fs.Float64("lon", 0, "longitude reported in heartbeats")
		country               = fs.String("country", "", "ISO 3166-1 alpha-2 code of the country the relay is in, reported in heartbeats for the gateway's jurisdiction policy (empty: the gateway asks its GeoIP database)")
		tlsCert, tlsKey       = fs.String("tls-cert", "", "PEM certificate chain for --listen-tls"), fs.String("tls-key", "", "PEM private key for --listen-tls")
		publicIP              = fs.String("public-ip", "", "advertised addresses, at most one IPv4 and one IPv6 (default: the listeners' IP when specific)")
		relayPorts            = fs.String("relay-ports", "49152-65535", "port range for relayed addresses")
		realm                 = fs.String("realm", "relaygate", "TURN realm")
		secrets               = fs.String("secrets", "", "TURN REST secrets accepted, id:secret,... newest first (prefer the env twin)")
		strict                = fs.Bool("strict-expiry", false, "also refuse refreshes, permissions and channel binds once the credential expired")
		gatewayURL            = fs.String("gateway-url", "", "relaygate base URL to heartbeat into; empty: standalone, no heartbeats")
		nodeToken             = fs.String("node-token", "", "node JWT for heartbeats (prefer the env twin)")
		allowPeers, denyPeers = fs.String("allow-peers", "", "CIDRs opened in the default peer filter"), fs.String("deny-peers", "", "CIDRs closed in addition to the default peer filter")
		maxAllocs             = fs.Int("max-allocations", 0, "allocations in total; 0 is no limit")
		userQuota             = fs.Int("user-quota", 0, "allocations per user (credential pseudonym); 0 is no limit")
		maxBPS                = fs.Int64("max-bps", 0, "relayed bits per second, both directions; 0 is no limit")
		metricsListen         = fs.String("metrics-listen", "", "Prometheus /metrics ip:port; empty is off")
		drainTimeout          = fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, longest wait for live allocations")
		hbInterval            = fs.Duration("heartbeat-interval", 5*time.Second, "heartbeat period until the gateway names one")
		logLevel              = fs.String("log-level", "info", "debug, info, warn or error")
		cpuProfile            = fs.String("cpuprofile", "", "write a Go CPU profile to this file until exit (benchmarks)")
	)
	listen := listenFlags(fs)
	// The environment, then the --config file, for flags not given: the
	// command line wins.
	src := cmdline.Sources{Env: cmdline.Env{Getenv: getenv, Name: envName, Secret: secretFlags}, Lists: listFlags}
	if err := src.ParseCommand(fs, args, "relaynode is relaygate's TURN relay: RFC 8656 over UDP, TCP and TLS, with credentials minted by relaygate, heartbeating into the gateway."); err != nil {
		return config{}, err
	}
	var errs []error

	var c config
	r := &c.relay
	r.Realm, r.StrictExpiry = *realm, *strict
	r.MaxAllocations, r.UserQuota, r.MaxBPS, r.DrainTimeout = *maxAllocs, *userQuota, *maxBPS, *drainTimeout
	c.metricsListen, c.cpuProfile = *metricsListen, *cpuProfile
	if *secrets == "" {
		errs = append(errs, errors.New("--secrets (RELAYNODE_SECRETS) is required"))
	} else if s, err := turncred.ParseSecrets(*secrets); err != nil {
		errs = append(errs, fmt.Errorf("--secrets: %w", err))
	} else {
		r.Secrets = s
	}
	var needCert []string
	for _, t := range relay.Transports() {
		addr := *listen[t]
		if addr == "off" || addr == "" {
			continue
		}
		if turnrelay.NeedsCertificate(t) {
			needCert = append(needCert, "--listen-"+t.String())
		}
		r.Listeners = append(r.Listeners, turnrelay.Listener{Transport: t, Addr: addr})
	}
	if len(needCert) > 0 {
		if *tlsCert == "" || *tlsKey == "" {
			errs = append(errs, fmt.Errorf("%s needs --tls-cert and --tls-key", strings.Join(needCert, ", ")))
		} else if _, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey); err != nil {
			errs = append(errs, fmt.Errorf("--tls-cert/--tls-key: %w", err))
		} else {
			c.tlsCert, c.tlsKey = *tlsCert, *tlsKey // run serves them through a certfile.Reloader
		}
	}
	for _, s := range strings.Split(*publicIP, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			errs = append(errs, fmt.Errorf("--public-ip: %q is not an IP address", s))
			continue
		}
		r.PublicIPs = append(r.PublicIPs, ip)
	}
	if pr, err := turnrelay.ParsePortRange(*relayPorts); err != nil {
		errs = append(errs, fmt.Errorf("--relay-ports: %w", err))
	} else {
		r.RelayPorts = pr
	}
	var err error
	if r.AllowPeers, err = netpolicy.ParsePrefixes(*allowPeers); err != nil {
		errs = append(errs, fmt.Errorf("--allow-peers: %w", err))
	}
	if r.DenyPeers, err = netpolicy.ParsePrefixes(*denyPeers); err != nil {
		errs = append(errs, fmt.Errorf("--deny-peers: %w", err))
	}
	if c.metricsListen != "" {
		if _, _, err := net.SplitHostPort(c.metricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q must be host:port", c.metricsListen))
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q must be debug, info, warn or error", *logLevel))
	}
	if *hostname != "" && !validHostname(*hostname) {
		errs = append(errs, fmt.Errorf("--hostname %q is not a DNS name", *hostname))
	}
	r.Heartbeat = heartbeat.Config{
		GatewayURL: *gatewayURL, NodeToken: *nodeToken, RelayID: *id, Region: *region, Site: *site,
		Latitude: *lat, Longitude: *lon, Hostname: *hostname, Version: version, Interval: *hbInterval,
	}
	if *country != "" {
		if r.Heartbeat.Country, err = relay.ParseCountry(*country); err != nil {
			errs = append(errs, fmt.Errorf("--country: %w", err))
		}
	}
	return c, errors.Join(errs...)
}

// listenFlags defines --listen-<transport> for every transport of relay's
// table: ip:port or "off", on 0.0.0.0:3478 by default except for
// transports that need a certificate, which are off until given one.
func listenFlags(fs *flag.FlagSet) [relay.NumTransports]*string {
	var listen [relay.NumTransports]*string
	for _, t := range relay.Transports() {
		def := "0.0.0.0:3478"
		if turnrelay.NeedsCertificate(t) {
			def = "off"
		}
		listen[t] = fs.String("listen-"+t.String(), def, fmt.Sprintf("TURN over %s ip:port, or off", strings.ToUpper(t.String())))
	}
	return listen
}

func validHostname(h string) bool {
	if len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// withCertificate serves --tls-cert and --tls-key to cfg's listeners that
// need a certificate, re-reading them when they are replaced (an ACME
// renewal), and returns the reloader; nil when no listener needs one.
func withCertificate(cfg *config, log *slog.Logger) (*certfile.Reloader, error) {
	if cfg.tlsCert == "" {
		return nil, nil
	}
	certs, err := certfile.New(certfile.Config{CertFile: cfg.tlsCert, KeyFile: cfg.tlsKey, Log: log.With("component", "certfile")})
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	tc := &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}
	for i, l := range cfg.relay.Listeners {
		if turnrelay.NeedsCertificate(l.Transport) {
			cfg.relay.Listeners[i].TLS = tc
		}
	}
	return certs, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return cmdline.Usage(err) // exit 2; flag.ErrHelp after --help and cmdline.ErrVersion exit 0
	}
	// turnrelay names its parts' components; this command's own lines
	// are relaynode's.
	base := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	log := base.With("component", "relaynode")
	certs, err := withCertificate(&cfg, log)
	if err != nil {
		return err
	}
	srv, err := turnrelay.New(cfg.relay, base)
	if err != nil {
		return err
	}
	if certs != nil {
		srv.Registry().MustRegister(metric.GaugeFunc("relaynode_tls_certificate_expiry_timestamp_seconds", "When the certificate served on the TLS listeners expires (its notAfter), in Unix seconds; it moves when a renewed --tls-cert/--tls-key pair is picked up.", func() float64 { return float64(certs.NotAfter().Unix()) }))
	}
	if cfg.relay.Heartbeat.GatewayURL == "" {
		log.Info("no --gateway-url: standalone relay, no heartbeats")
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = srv.Close()
			_ = f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	var metrics *http.Server
	metricsDone := make(chan error, 1)
	if cfg.metricsListen != "" {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", cfg.metricsListen)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		log.Info("metrics listening", "addr", ln.Addr().String())
		go func() { metricsDone <- metrics.Serve(ln) }()
	}
	runErr := srv.Run(ctx)
	if metrics != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = metrics.Shutdown(sctx)
		cancel()
		if err := <-metricsDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server", "err", err.Error())
		}
	}
	log.Info("relaynode stopped")
	return runErr
}
