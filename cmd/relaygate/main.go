// Command relaygate is the gateway: it keeps the registry of TURN relays,
// picks a primary and a backup relay for each client, and mints the TURN
// credentials a WebRTC app needs for relay-only calls.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/internal/cmdline"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

func main() {
	cmdline.Main("relaygate", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil)
	})
}

// run wires the gateway and serves until ctx is done. ready, when not nil,
// receives the bound listen address once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return cmdline.Usage(err) // exit 2; flag.ErrHelp after --help and cmdline.ErrVersion exit 0
	}
	lw := newLogWriter(stderr)
	logCtx, stopLog := context.WithCancel(context.WithoutCancel(ctx))
	logDone := make(chan struct{})
	go func() { lw.Run(logCtx); close(logDone) }()
	defer func() { stopLog(); <-logDone }() // the last lines reach stderr before run returns
	log := slog.New(slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: cfg.LogLevel}))

	reg, err := openStore(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer reg.Close()

	if cfg.SecretsRandom {
		log.Warn("no --turn-secrets: minting with a random secret that no relay knows; set --turn-secrets to the relays' --secrets")
	}
	minter, err := turncred.NewMinter(cfg.TURNSecrets, cfg.PseudonymKey)
	if err != nil {
		return err
	}

	locator, err := openGeoIP(cfg, log)
	if err != nil {
		return err
	}

	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gwCfg := gatewayConfig(cfg)
	usage, _ := reg.(store.Usage) // Memory and Redis both keep usage
	gwDeps := gateway.Deps{
		Store: reg, Usage: usage, Minter: minter, Log: log, Metrics: promReg, Now: time.Now, Rand: mrand.Uint64,
	}
	if locator != nil {
		gwDeps.Countries = locator // never a typed nil in the interface
	}
	gw, err := gateway.New(gwCfg, gwDeps)
	if err != nil {
		return err
	}
	// /metrics on the API listener, unless it has a listener of its own.
	metrics := promhttp.HandlerFor(promReg, promhttp.HandlerOpts{})
	apiMetrics := metrics
	if cfg.MetricsListen != "" {
		apiMetrics = nil // the API answers 404
	}
	limiter, runLimiter, err := openLimiter(cfg, reg, log)
	if err != nil {
		return fmt.Errorf("rate limits: %w", err)
	}
	var loc api.Locator
	if locator != nil {
		loc = locator // never a typed nil in the interface
	}
	handler, err := api.New(cfg.API, api.Deps{
		Registry:       gw,
		Picker:         gw,
		Minter:         gw,
		Measurements:   gw,
		Revocations:    gw,
		Usage:          gw,
		Locator:        loc,
		Limiter:        limiter,
		Log:            log.With("component", "api"),
		Metrics:        api.NewMetrics(promReg),
		MetricsHandler: apiMetrics,
	})
	if err != nil {
		return err
	}
	for role, kc := range map[string]api.KeyConfig{"user": cfg.API.User, "node": cfg.API.Node, "admin": cfg.API.Admin} {
		if len(kc.Secret) == 0 && len(kc.PublicKeyPEM) == 0 {
			log.Warn("no key for "+role+" tokens: those endpoints answer 401", "flag", "--"+role+"-jwt-secret or --"+role+"-jwt-public-key")
		}
	}

	static, err := openStatic(cfg, locator, gw, log)
	if err != nil {
		return err
	}
	if cfg.API.Demo {
		log.Warn("demo mode (--demo): GET /demo/token mints user tokens for anyone who can reach this listener; for a developer's machine only")
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("relaygate listening", "addr", ln.Addr().String(), "store", storeKind(cfg), "geoip", cfg.GeoIPDB != "")
	_ = lw.Flush() // start-up lines reach the operator at once
	if ready != nil {
		ready <- ln.Addr().String()
	}

	if gwCfg.ProbeOff {
		log.Info("probing off (--probe-interval 0): relays are judged by heartbeats alone")
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return gw.Run(gctx) })
	if runLimiter != nil {
		g.Go(func() error { return runLimiter(gctx) })
	}
	if locator != nil {
		g.Go(func() error { return locator.Run(gctx) })
	}
	if static != nil {
		g.Go(func() error { return static.Run(gctx) })
	}
	g.Go(func() error { return serve(gctx, ln, handler, cfg.ShutdownDelay, cfg.ShutdownGrace, log) })
	if cfg.PprofListen != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if err := serveAux(gctx, g, "pprof", cfg.PprofListen, mux, log); err != nil {
			return err
		}
	}
	if cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		if err := serveAux(gctx, g, "metrics", cfg.MetricsListen, mux, log); err != nil {
			return err
		}
	}
	err = g.Wait()
	if locator != nil {
		locator.Close()
	}
	log.Info("relaygate stopped")
	return err
}

// serveAux serves an operator's side listener (pprof, metrics) on addr in
// g until ctx is done.
func serveAux(ctx context.Context, g *errgroup.Group, name, addr string, h http.Handler, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("--%s-listen: %w", name, err)
	}
	log.Info(name+" listening", "addr", ln.Addr().String())
	g.Go(func() error {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go func() { <-ctx.Done(); srv.Close() }()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// gatewayConfig is the gateway's part of the flags.
func gatewayConfig(cfg config) gateway.Config {
	return gateway.Config{
		ExploreShare:       cfg.ExploreShare,
		Probe:              cfg.Probe,
		ProbeOff:           cfg.Probe.Interval == 0,
		AllowRelayNetworks: cfg.AllowRelayNetworks,
		StoreGrace:         cfg.StoreGrace,
		Jurisdiction:       cfg.Jurisdiction,
	}
}

// serve answers HTTP on ln until ctx is done, then turns /readyz red, keeps
// serving for delay so load balancers notice, and lets in-flight requests
// finish within grace.
func serve(ctx context.Context, ln net.Listener, h *api.Server, delay, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	h.SetNotReady()
	log.Info("shutting down", "delay", delay.String(), "grace", grace.String())
	if delay > 0 {
		select {
		case <-time.After(delay):
		case err := <-errc:
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

func storeKind(cfg config) string {
	if cfg.RedisURL != "" {
		return "redis"
	}
	return "memory"
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
