package browser

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

const (
	chromiumPath = "/usr/bin/chromium"
	userSecret   = "user-secret-0123456789abcdef0123456789"
	nodeSecret   = "node-secret-0123456789abcdef0123456789"
	turnSecret   = "turn-secret-0123456789abcdef"
	adminSecret  = "admin-secret-0123456789abcdef012345678"
)

//go:embed page.html
var pageHTML []byte

// bins are relaygate and relaynode built from this tree, once per test binary.
var bins = testenv.Commands{Pkgs: []string{"../cmd/relaygate", "../cmd/relaynode"}}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := bins.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (Debian's chromium package): %v", chromiumPath, err)
	}
}

// relay is one relaynode process.
type relay struct {
	id         string
	minP, maxP int // its --relay-ports: tells which relay a candidate is on
	proc       *testenv.Proc
}

func (r *relay) owns(port int) bool { return port >= r.minP && port <= r.maxP }

// env is a gateway, two relays on different sites and a test page on another origin.
type env struct {
	t       *testing.T
	gateway string
	page    string
	relays  []*relay
	user    string
	admin   string
}

type envConfig struct {
	strictExpiry bool
	portBase     int           // relay i allocates from portBase+i*100 .. +99
	demo         bool          // relaygate --demo: GET /demo/token mints user tokens
	drainTimeout time.Duration // relaynode --drain-timeout; its default when 0
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	gwBin, nodeBin := bins.Path(t, "relaygate"), bins.Path(t, "relaynode")
	e := &env{t: t, user: testenv.Token(t, userSecret, "alice", time.Hour), admin: testenv.Token(t, adminSecret, "ops", time.Hour)}

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if _, err := w.Write(pageHTML); err != nil {
			t.Errorf("serving the test page: %v", err)
		}
	}))
	t.Cleanup(page.Close)

	gw := exec.CommandContext(t.Context(), gwBin, "--listen", "127.0.0.1:0", "--cors-origins", page.URL,
		"--probe-interval", "500ms", "--heartbeat-ttl", "30s", "--explore-share", "0",
		"--allow-relay-networks", "127.0.0.0/8", // the relays are on loopback
		"--rate-user", "off", "--rate-prefix", "off") // the tests poll for credentials far more often than a user would
	if cfg.demo {
		gw.Args = append(gw.Args, "--demo")
	}
	gw.Env = append(os.Environ(), "RELAYGATE_USER_JWT_SECRET="+userSecret, "RELAYGATE_NODE_JWT_SECRET="+nodeSecret, "RELAYGATE_ADMIN_JWT_SECRET="+adminSecret,
		"RELAYGATE_TURN_SECRETS=k1:"+turnSecret, "RELAYGATE_PSEUDONYM_KEY=pseudonym-key-0123456789")
	gwProc := startProc(t, "relaygate", gw)
	a, err := testenv.GatewayAddr(gwProc.Logs, nil, 15*time.Second)
	if err != nil {
		t.Fatalf("relaygate did not listen within 15s:\n%s", gwProc.Logs)
	}
	e.gateway = "http://" + a
	q := url.Values{"gw": {e.gateway}, "token": {e.user}}
	e.page = page.URL + "/?" + q.Encode()

	for i, site := range []string{"aaa", "bbb"} {
		r := &relay{id: site + "-1", minP: cfg.portBase + i*100, maxP: cfg.portBase + i*100 + 99}
		ip := fmt.Sprintf("127.0.0.%d", 2+i)
		args := []string{
			"--id", r.id, "--region", "test", "--site", site, "--lat", "50", "--lon", fmt.Sprint(8 + i),
			// Each relay on its own loopback address, as relays have their
			// own addresses in production: relaygate.js tells relays apart
			// by address when it decides which one died.
			"--listen-udp", fmt.Sprintf("%s:%d", ip, testenv.FreeUDPPort(t)), "--listen-tcp", "off",
			"--public-ip", ip, "--relay-ports", fmt.Sprintf("%d-%d", r.minP, r.maxP),
			"--allow-peers", "127.0.0.0/8", "--gateway-url", e.gateway, "--heartbeat-interval", "1s",
			"--log-level", "warn",
		}
		if cfg.strictExpiry {
			args = append(args, "--strict-expiry")
		}
		if cfg.drainTimeout > 0 {
			args = append(args, "--drain-timeout", cfg.drainTimeout.String())
		}
		cmd := exec.CommandContext(t.Context(), nodeBin, args...)
		cmd.Env = append(os.Environ(), "RELAYNODE_SECRETS=k1:"+turnSecret, "RELAYNODE_NODE_TOKEN="+testenv.Token(t, nodeSecret, r.id, time.Hour))
		r.proc = startProc(t, r.id, cmd)
		e.relays = append(e.relays, r)
	}
	e.waitSelectable()
	return e
}

// startProc starts cmd, name in messages, and kills it when the test ends,
// showing its logs if the test failed.
func startProc(t *testing.T, name string, cmd *exec.Cmd) *testenv.Proc {
	t.Helper()
	return testenv.StartProcUntilCleanup(t, name, cmd)
}

// waitSelectable waits until the gateway answers with both relays.
func (e *env) waitSelectable() {
	e.t.Helper()
	testenv.Eventually(e.t, "both relays selectable", 20*time.Second, 100*time.Millisecond, func() error {
		p, b, err := e.pick()
		if err == nil && (p == "" || b == "") {
			err = fmt.Errorf("primary %q, backup %q", p, b)
		}
		return err
	})
}

// pick asks the gateway for credentials and returns the relays it names.
func (e *env) pick() (primary, backup string, err error) {
	var a wire.Credentials
	if err := e.api(http.MethodPost, "/v1/credentials", e.user, &a); err != nil {
		return "", "", err
	}
	if a.Backup == nil {
		return a.Primary.RelayID, "", nil
	}
	return a.Primary.RelayID, a.Backup.RelayID, nil
}

// api sends an empty-bodied request to the gateway with token and decodes
// a 2xx answer into out, when not nil.
func (e *env) api(method, path, token string, out any) error {
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.gateway+path, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// relayOf names the relay that allocated a candidate's port.
func (e *env) relayOf(port int) *relay {
	for _, r := range e.relays {
		if r.owns(port) {
			return r
		}
	}
	return nil
}

// kill SIGKILLs a relay, as a crash or a lost machine would stop it.
func (r *relay) kill(t *testing.T) {
	t.Helper()
	if err := r.proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// browser starts a headless Chromium on a fresh profile, loopback only,
// with the test page loaded and its module imported.
func (e *env) browser() context.Context {
	e.t.Helper()
	ctx := e.chromium()
	if err := e.do(ctx, 30*time.Second, chromedp.Navigate(e.page)); err != nil {
		e.t.Fatalf("navigate: %v", err)
	}
	ok, err := run(ctx, 15*time.Second, chromedp.Poll[bool](`T.ready || T.importFailed`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil || !ok {
		e.t.Fatalf("page never imported the module: %v", err)
	}
	if errs := eval[[]string](ctx, e.t, `T.errors`); len(errs) > 0 || !eval[bool](ctx, e.t, `T.ready`) {
		e.t.Fatalf("page: %v", errs)
	}
	return ctx
}

// chromium starts a headless Chromium on a fresh profile, loopback only,
// on a blank page.
func (e *env) chromium() context.Context {
	e.t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(e.t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	e.t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser: no deadline on this context
		e.t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs steps with a deadline derived from a context that has run once.
func (e *env) do(ctx context.Context, d time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Do(c, steps...)
}

// poll waits up to d for the page expression expr to be true, checking every interval.
func poll(ctx context.Context, d, interval time.Duration, expr string) error {
	_, err := run(ctx, d, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingInterval(interval), chromedp.WithPollingTimeout(d)))
	return err
}

func run[T any](ctx context.Context, d time.Duration, a chromedp.Action[T]) (T, error) {
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Run(c, a)
}

// eval evaluates expr (awaiting a promise) within 10s.
func eval[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := run(ctx, 10*time.Second, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
