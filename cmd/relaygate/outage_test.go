package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

// startRedis runs a redis-server this test owns on 127.0.0.1:port, without
// persistence, so that a restart comes back empty as a Redis without RDB
// or AOF does, and waits until it answers PING. It is killed when the test
// ends.
func startRedis(t *testing.T, port int) *testenv.Proc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	cmd := exec.CommandContext(t.Context(), bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	p := testenv.StartProcUntilCleanup(t, "redis-server", cmd)
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	testenv.Eventually(t, "redis-server to answer", 10*time.Second, 20*time.Millisecond, func() error {
		if p.Exited() {
			t.Fatalf("redis-server exited: %v\n%s", p.Err(), p.Logs)
		}
		return c.Ping(t.Context()).Err()
	})
	return p
}

// logsLine reports whether logs hold a JSON line whose "msg" is msg and
// whose fields include every one of want.
func logsLine(logs, msg string, want map[string]any) bool {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != msg {
			continue
		}
		all := true
		for k, v := range want {
			all = all && m[k] == v
		}
		if all {
			return true
		}
	}
	return false
}

// TestStoreOutage runs a real Redis the test owns, the gateway over it and
// three real relaynodes heartbeating into it, and takes Redis away:
// credentials keep coming from the last snapshot long past the heartbeat
// TTL (and a relay that dies meanwhile leaves selection by the gateway's
// own probes), writes and registry reads answer 503 with a Retry-After of
// the heartbeat interval, /readyz and the metrics say stale. Redis comes
// back empty, as a restarted Redis without persistence does: the registry
// is whole again within one heartbeat interval, and the relay an operator
// drained before the outage is still drained, its mark reasserted by the
// relay; clearing the mark then sticks although the relay reasserted it
// until it heard.
func TestStoreOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs redis-server and relaynode")
	}
	const (
		ttl      = 6 * time.Second
		interval = ttl / 3 // what the gateway tells relays
	)
	port := testenv.FreeTCPPort(t)
	rds := startRedis(t, port)
	env := map[string]string{
		"RELAYGATE_REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d/0", port), "RELAYGATE_STORE_GRACE": "5m",
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_USER_JWT_SECRET": testUserSecret,
		"RELAYGATE_ADMIN_JWT_SECRET": testAdminSecret, "RELAYGATE_HEARTBEAT_TTL": ttl.String(),
		"RELAYGATE_PROBE_INTERVAL": "1s", "RELAYGATE_EXPLORE_SHARE": "0",
		// The test asks for credentials in a loop through the outage, far
		// more often than one user of an app would: not a rate-limit test.
		"RELAYGATE_RATE_USER": "off", "RELAYGATE_RATE_PREFIX": "off",
	}
	gw, gwLogs := startGateway(t, env)
	bins, err := testenv.BuildCommands(t.TempDir(), false, "../relaynode")
	if err != nil {
		t.Fatalf("go build relaynode: %v", err)
	}
	relays := map[string]*testenv.Proc{}
	for i, site := range []string{"aaa", "bbb", "ccc"} {
		relays[site+"-1"] = startRelaynode(t, bins["relaynode"], gw, site, i, "info")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("relaygate logs:\n%s", testenv.Tail(gwLogs.String(), 60))
		}
	})
	user := testenv.Token(t, testUserSecret, "alice", time.Hour)
	admin := testenv.Token(t, testAdminSecret, "ops", time.Hour)
	pick := func() (wire.Credentials, int) { return pickFor(t, gw, user) }
	// selects says whether the answer names relay id.
	selects := func(a wire.Credentials, id string) bool {
		return a.Primary.RelayID == id || (a.Backup != nil && a.Backup.RelayID == id)
	}
	registered := func() (map[string]wire.RelayStatus, error) {
		code, body := call(t, "GET", gw+"/v1/relays", admin, nil)
		if code != 200 {
			return nil, fmt.Errorf("GET /v1/relays = %d %s", code, body)
		}
		var list wire.RelayList
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]wire.RelayStatus{}
		for _, r := range list.Relays {
			out[r.ID] = r
		}
		return out, nil
	}
	readiness := func() (int, wire.Readiness) {
		code, body := call(t, "GET", gw+"/readyz", "", nil)
		var rd wire.Readiness
		if code == 200 {
			if err := json.Unmarshal(body, &rd); err != nil {
				t.Fatalf("readyz answer: %v: %s", err, body)
			}
		}
		return code, rd
	}

	testenv.Eventually(t, "three relays registered and probed up", 20*time.Second, 100*time.Millisecond, func() error {
		if up := probedUp(t, gw, admin); up != 3 {
			return fmt.Errorf("%d of 3 probed up", up)
		}
		return nil
	})
	// setDrained sets or clears aaa-1's drain mark and waits until the
	// relay has heard of it in a heartbeat's answer.
	setDrained := func(drained bool) {
		t.Helper()
		method := map[bool]string{true: "POST", false: "DELETE"}[drained]
		if code, body := call(t, method, gw+"/v1/relays/aaa-1/drain", admin, nil); code != 200 {
			t.Fatalf("%s aaa-1's drain mark = %d %s", method, code, body)
		}
		testenv.Eventually(t, "aaa-1 to hear of its drain mark", 3*interval, 50*time.Millisecond, func() error {
			if !logsLine(relays["aaa-1"].Logs.String(), "operator drain mark", map[string]any{"drained": drained}) {
				return fmt.Errorf("no heartbeat answer with drained %v yet", drained)
			}
			return nil
		})
	}
	setDrained(true)

	// Redis goes away.
	if err := rds.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-rds.Done()
	down := time.Now()
	testenv.Eventually(t, "/readyz to say stale", 10*time.Second, 50*time.Millisecond, func() error {
		if code, rd := readiness(); code != 200 || !rd.Stale || rd.Store != "unreachable" {
			return fmt.Errorf("readyz %d %+v", code, rd)
		}
		return nil
	})
	hb := map[string]any{"region": "test", "site": "bbb", "latitude": 50.0, "longitude": 9.0,
		"addresses": []string{"127.0.0.1"}, "ports": map[string]any{"udp": 3478}}
	for _, c := range []struct {
		method, path, tok string
		body              any
	}{
		{"PUT", "/v1/relays/bbb-1", testenv.Token(t, testNodeSecret, "bbb-1", time.Hour), hb},
		{"GET", "/v1/relays", admin, nil},
		{"GET", "/v1/relays/bbb-1", admin, nil},
		{"POST", "/v1/relays/ccc-1/drain", admin, nil},
	} {
		code, h, body := callHeader(t, c.method, gw+c.path, c.tok, c.body)
		if code != 503 || !strings.Contains(string(body), "urn:relaygate:problem:store-unavailable") || h.Get("Retry-After") != strconv.Itoa(int(interval/time.Second)) {
			t.Errorf("%s %s with Redis down = %d, Retry-After %q: %s; want 503 store-unavailable, Retry-After %d",
				c.method, c.path, code, h.Get("Retry-After"), body, int(interval/time.Second))
		}
	}
	if _, body := call(t, "GET", gw+"/metrics", "", nil); !strings.Contains(string(body), "\nrelaygate_store_up 0\n") {
		t.Errorf("metrics lack relaygate_store_up 0 with Redis down")
	}

	// Credentials keep coming, never from the drained relay, two TTLs into
	// the outage; ccc-1 dies a TTL into it and leaves selection by the
	// gateway's own probes (bbb-1 and ccc-1 are on different sites, so
	// every answer names both while both are eligible).
	var killed, gone time.Time
	testenv.Eventually(t, "two TTLs of credentials through the outage", 4*ttl, 100*time.Millisecond, func() error {
		a, code := pick()
		if code != 200 || selects(a, "aaa-1") {
			t.Fatalf("%v into the outage: credentials %d %s; want 200 without the drained aaa-1", time.Since(down), code, picked(a))
		}
		switch {
		case killed.IsZero() && time.Since(down) > ttl:
			if err := relays["ccc-1"].Cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = time.Now()
		case !killed.IsZero() && gone.IsZero() && !selects(a, "ccc-1"):
			gone = time.Now()
		}
		if time.Since(down) < 2*ttl || gone.IsZero() {
			return fmt.Errorf("%v into the outage, ccc-1 killed %v, out of selection %v", time.Since(down), !killed.IsZero(), !gone.IsZero())
		}
		return nil
	})
	t.Logf("ccc-1 killed %v into the outage, out of selection %v later", killed.Sub(down).Round(time.Millisecond), gone.Sub(killed).Round(10*time.Millisecond))

	// Redis comes back empty.
	startRedis(t, port)
	back := time.Now()
	testenv.Eventually(t, "the registry whole within one heartbeat interval", time.Until(back.Add(interval+time.Second)), 50*time.Millisecond, func() error {
		rs, err := registered()
		if err != nil {
			return err
		}
		if _, ok := rs["aaa-1"]; !ok || len(rs) != 2 {
			return fmt.Errorf("registered %v, want aaa-1 and bbb-1", rs)
		}
		if !rs["aaa-1"].Drained {
			t.Fatalf("aaa-1 came back undrained: %+v", rs["aaa-1"])
		}
		return nil
	})
	t.Logf("Redis back empty; registry whole %v later (heartbeat interval %v)", time.Since(back).Round(10*time.Millisecond), interval)
	testenv.Eventually(t, "/readyz fresh again", 5*time.Second, 50*time.Millisecond, func() error {
		if code, rd := readiness(); code != 200 || rd.Stale || rd.Store != "up" {
			return fmt.Errorf("readyz %d %+v", code, rd)
		}
		return nil
	})
	if a, code := pick(); code != 200 || a.Primary.RelayID != "bbb-1" || a.Backup != nil {
		t.Errorf("after the outage: credentials %d %s, want bbb-1 alone (aaa-1 drained, ccc-1 dead)", code, picked(a))
	}

	// Clearing the mark sticks, although aaa-1 reasserts it until it hears.
	setDrained(false)
	if rs, err := registered(); err != nil || rs["aaa-1"].Drained {
		t.Errorf("aaa-1 after the undrain and its heartbeats: %+v, %v; want undrained", rs["aaa-1"], err)
	}
	testenv.Eventually(t, "aaa-1 selectable again", 5*time.Second, 50*time.Millisecond, func() error {
		if a, code := pick(); code != 200 || !selects(a, "aaa-1") {
			return fmt.Errorf("credentials %d %s", code, picked(a))
		}
		return nil
	})
}
