package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/relaygate/relaygate/internal/testenv"
)

const (
	dashboardFile = "../../deployments/grafana/relaygate-dashboard.json"
	alertsFile    = "../../deployments/prometheus/relaygate-alerts.yaml"

	userJWTSecret = "monitoring-user-jwt-secret-0123456789"
	nodeJWTSecret = "monitoring-node-jwt-secret-0123456789"
	turnSecret    = "k1:monitoring-turn-secret-0123"
	relayID       = "mon-1"
	relayRegion   = "mon-region"
)

// deniedLabels could carry a user or an address: no exported series may
// have one.
var deniedLabels = []string{"user", "subject", "sub", "token", "ip", "addr", "address", "client", "username", "peer", "prefix", "relay_id", "relay"}

// synthesized are names Prometheus records itself, per target.
var synthesized = []string{"up"}

// afterTraffic are the families whose labels are not known up front (the
// relays' regions): they appear once a relay is probed and a credential
// issued, so the first scrape may lack them.
var afterTraffic = []string{
	"relaygate_credentials_issued_by_region_total",
	"relaygate_probe_rtt_seconds_bucket", "relaygate_probe_rtt_seconds_sum", "relaygate_probe_rtt_seconds_count",
	"relaygate_probe_loss_ratio_bucket", "relaygate_probe_loss_ratio_sum", "relaygate_probe_loss_ratio_count",
}

var commands = testenv.Commands{
	Pkgs: []string{"github.com/relaygate/relaygate/cmd/relaygate", "github.com/relaygate/relaygate/cmd/relaynode"},
	Race: raceEnabled, // a race in a child fails the test (it exits 66)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := commands.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// expression is one PromQL expression of the monitoring files and where it is.
type expression struct{ where, expr string }

// decodeFile reads file into v with unmarshal (JSON's or YAML's), failing
// t on either step.
func decodeFile(t *testing.T, file string, unmarshal func([]byte, any) error, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// dashboardExpressions are every target's expr and every query variable's
// metric in the dashboard.
func dashboardExpressions(t *testing.T) []expression {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	decodeFile(t, dashboardFile, json.Unmarshal, &d)
	var out []expression
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, expression{where: "panel " + p.Title, expr: tg.Expr})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*[A-Za-z_]+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(<metric>, <label>)", v.Name, s)
		}
		out = append(out, expression{where: "variable " + v.Name, expr: m[1]})
	}
	if len(out) < 20 {
		t.Fatalf("%s: only %d expressions found; did its shape change?", dashboardFile, len(out))
	}
	return out
}

// alertExpressions are every rule's expr in the alert rules.
func alertExpressions(t *testing.T) []expression {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	decodeFile(t, alertsFile, yaml.Unmarshal, &f)
	var out []expression
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("%s: group %s has a rule without alert or expr", alertsFile, g.Name)
			}
			out = append(out, expression{where: "alert " + r.Alert, expr: r.Expr})
		}
	}
	if len(out) < 10 {
		t.Fatalf("%s: only %d rules found; did its shape change?", alertsFile, len(out))
	}
	return out
}

// scrape is one /metrics answer: its families, and the series names they
// export (a histogram's _bucket, _sum and _count).
type scrape struct {
	families map[string]*dto.MetricFamily
	series   map[string]bool
}

func scrapeMetrics(url string) (scrape, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return scrape{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return scrape{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return scrape{}, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return scrape{}, fmt.Errorf("parse %s: %w", url, err)
	}
	s := scrape{families: fams, series: make(map[string]bool)}
	for name, f := range fams {
		if len(f.GetMetric()) == 0 {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			s.series[name+"_bucket"], s.series[name+"_sum"], s.series[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			s.series[name], s.series[name+"_sum"], s.series[name+"_count"] = true, true, true
		default:
			s.series[name] = true
		}
	}
	return s, nil
}

// missing lists the names exprs select that neither scrape exports (nor
// Prometheus records), except those in skip, each with where it is used.
func missing(t *testing.T, exprs []expression, skip []string, scrapes ...scrape) []string {
	t.Helper()
	var out []string
	for _, e := range exprs {
		names, err := metricNames(e.expr)
		if err != nil {
			t.Errorf("%s: %v", e.where, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", e.where, e.expr)
		}
		for _, n := range names {
			found := slices.Contains(synthesized, n) || slices.Contains(skip, n)
			for _, s := range scrapes {
				found = found || s.series[n]
			}
			if !found {
				out = append(out, fmt.Sprintf("%s (%s)", n, e.where))
			}
		}
	}
	return out
}

// deniedIn lists the exported series whose label names are denied.
func deniedIn(s scrape) []string {
	var out []string
	for name, f := range s.families {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if slices.Contains(deniedLabels, strings.ToLower(lp.GetName())) {
					out = append(out, name+"{"+lp.GetName()+"}")
				}
			}
		}
	}
	return out
}

// TestMonitoringFilesMatchExportedMetrics runs relaygate and a relaynode
// (with a TLS listener, so its certificate's expiry is exported) on
// loopback, scrapes both before any traffic, then again once the relay
// has heartbeated, been probed and served as a credential's primary.
func TestMonitoringFilesMatchExportedMetrics(t *testing.T) {
	exprs := append(dashboardExpressions(t), alertExpressions(t)...)
	relaygate, relaynode := commands.Path(t, "relaygate"), commands.Path(t, "relaynode")

	gw := startProc(t, "relaygate", []string{
		"RELAYGATE_TURN_SECRETS=" + turnSecret,
		"RELAYGATE_USER_JWT_SECRET=" + userJWTSecret,
		"RELAYGATE_NODE_JWT_SECRET=" + nodeJWTSecret,
		"RELAYGATE_ALLOW_RELAY_NETWORKS=127.0.0.0/8",
	}, relaygate, "--listen=127.0.0.1:0", "--probe-interval=200ms", "--shutdown-grace=2s")
	gwAddr := waitLog(t, gw, "relaygate listening", "addr")
	gwMetrics := "http://" + gwAddr + "/metrics"

	// The gateway's first scrape, before any relay or request.
	first, err := scrapeMetrics(gwMetrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing(t, exprs, afterTraffic, first) {
		if strings.HasPrefix(m, "relaygate_") {
			t.Errorf("first gateway scrape lacks %s", m)
		}
	}

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile)
	rn := startProc(t, "relaynode", []string{
		"RELAYNODE_SECRETS=" + turnSecret,
		"RELAYNODE_NODE_TOKEN=" + testenv.Token(t, nodeJWTSecret, relayID, time.Hour),
	}, relaynode, "--gateway-url=http://"+gwAddr, "--id="+relayID, "--region="+relayRegion, "--site=mon-site",
		"--lat=50.1", "--lon=8.7", "--listen-udp=127.0.0.1:0", "--listen-tcp=127.0.0.1:0", "--listen-tls=127.0.0.1:0",
		"--tls-cert="+certFile, "--tls-key="+keyFile, "--hostname=localhost", "--metrics-listen=127.0.0.1:0",
		"--heartbeat-interval=1s", "--drain-timeout=200ms")
	rnMetrics := "http://" + waitLog(t, rn, "metrics listening", "addr") + "/metrics"

	// The relaynode's first scrape.
	rnFirst, err := scrapeMetrics(rnMetrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing(t, exprs, nil, rnFirst, first) {
		if strings.HasPrefix(m, "relaynode_") {
			t.Errorf("first relaynode scrape lacks %s", m)
		}
	}

	// Traffic: the relay registers and is probed; a client gets credentials.
	userToken := testenv.Token(t, userJWTSecret, "monitoring-user", time.Hour)
	testenv.Eventually(t, "a credential with the relay probed", 30*time.Second, 100*time.Millisecond, func() error {
		if err := postCredentials(gwAddr, userToken); err != nil {
			return err
		}
		s, err := scrapeMetrics(gwMetrics)
		if err != nil {
			return err
		}
		for _, n := range afterTraffic {
			if !s.series[n] {
				return fmt.Errorf("no %s yet", n)
			}
		}
		return nil
	})
	gwLast, err := scrapeMetrics(gwMetrics)
	if err != nil {
		t.Fatal(err)
	}
	rnLast, err := scrapeMetrics(rnMetrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing(t, exprs, nil, gwLast, rnLast) {
		t.Errorf("neither binary exports %s", m)
	}
	for _, s := range []scrape{first, rnFirst, gwLast, rnLast} {
		for _, d := range deniedIn(s) {
			t.Errorf("exported series with a denied label: %s", d)
		}
	}
	// The region is a label; the relay's id and the user never are values.
	for _, s := range []scrape{gwLast, rnLast} {
		for name, f := range s.families {
			for _, m := range f.GetMetric() {
				for _, lp := range m.GetLabel() {
					if v := lp.GetValue(); strings.Contains(v, relayID) || strings.Contains(v, "monitoring-user") || strings.Contains(v, "127.0.0.1") {
						t.Errorf("%s{%s=%q} carries a relay id, user or address", name, lp.GetName(), v)
					}
				}
			}
		}
	}
	if !strings.Contains(gwLast.families["relaygate_credentials_issued_by_region_total"].String(), relayRegion) {
		t.Errorf("relaygate_credentials_issued_by_region_total lacks region %q", relayRegion)
	}
}

// postCredentials asks the gateway for credentials once.
func postCredentials(gwAddr, userToken string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+gwAddr+"/v1/credentials", strings.NewReader(`{"ttl_seconds": 600}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+userToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/credentials: %s: %s", resp.Status, body)
	}
	return nil
}

// startProc starts a binary with extra environment; it gets SIGTERM when
// the test ends and must exit cleanly.
func startProc(t *testing.T, name string, env []string, argv ...string) *testenv.Proc {
	t.Helper()
	cmd := exec.CommandContext(context.WithoutCancel(t.Context()), argv[0], argv[1:]...) // stopped by Cleanup, SIGTERM first
	cmd.Env = append(os.Environ(), env...)
	return testenv.StartProcStopAtCleanup(t, name, cmd)
}

// waitLog waits for p's log line msg and returns its field, which must be
// there.
func waitLog(t *testing.T, p *testenv.Proc, msg, field string) string {
	t.Helper()
	v := testenv.WaitLogField(t, p, msg, field)
	if v == "" {
		t.Fatalf("%s: %q has no %s:\n%s", p.Name, msg, field, testenv.Tail(p.Logs.String(), 40))
	}
	return v
}

// writeCert writes a self-signed certificate for localhost and its key.
func writeCert(t *testing.T, certFile, keyFile string) {
	t.Helper()
	cert, key, err := testenv.SelfSignedPEM(testenv.CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
}
