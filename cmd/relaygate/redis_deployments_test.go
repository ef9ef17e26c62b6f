package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/internal/testenv/redistest"
	"github.com/relaygate/relaygate/wire"
)

// redisGatewayEnv is a gateway's environment on redisURL: every role's
// key, the test TURN secret, and relays kept for a minute after their last
// heartbeat, well past any failover here.
func redisGatewayEnv(redisURL string) map[string]string {
	return map[string]string{
		"RELAYGATE_REDIS_URL":    redisURL,
		"RELAYGATE_TURN_SECRETS": "k1:" + testTURNSecret, "RELAYGATE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
		"RELAYGATE_NODE_JWT_SECRET": testNodeSecret, "RELAYGATE_USER_JWT_SECRET": testUserSecret,
		"RELAYGATE_ADMIN_JWT_SECRET": testAdminSecret, "RELAYGATE_HEARTBEAT_TTL": "60s",
		"RELAYGATE_TRUSTED_PROXIES": "127.0.0.0/8",
	}
}

// relayBody is a heartbeat of relay site-1 at site with allocations in use
// of a thousand.
func relayBody(site string, allocations int64) map[string]any {
	return map[string]any{"region": "eu", "site": site, "latitude": 50.0, "longitude": 8.0,
		"addresses": []string{"203.0.113.5"}, "ports": map[string]any{"udp": 3478},
		"capacity": map[string]any{"allocations": 1000}, "load": map[string]any{"allocations": allocations}}
}

// post sends a JSON request from client (an X-Forwarded-For the gateway
// trusts) and returns the status and body; unlike call it only reports
// errors, so a goroutine may use it.
func post(ctx context.Context, method, url, tok, client string, body any) (int, []byte, error) {
	var b bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&b).Encode(body); err != nil {
			return 0, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, &b)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, err = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes(), err
}

// answerError says why a request did not get the answer wanted: err, or
// else its status and body.
func answerError(what string, code int, body []byte, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s = %d %s", what, code, body)
}

// failoverBound is how soon after its Sentinel master is killed a gateway
// must take heartbeats again. A failover takes about two seconds here
// (down-after 1 s, then the election and the promotion); the rest is for a
// loaded machine.
const failoverBound = 20 * time.Second

// TestGatewaySurvivesSentinelFailover: a gateway on a Sentinel set keeps
// minting credentials from its snapshot while the master is killed, and
// takes heartbeats again once Sentinel has promoted the replica.
func TestGatewaySurvivesSentinelFailover(t *testing.T) {
	sentinel := redistest.StartSentinel(t, redistest.SentinelConfig{})
	gw, _ := startGateway(t, redisGatewayEnv(sentinel.URL()))
	beat := func(ctx context.Context, id string) (int, error) {
		code, _, err := post(ctx, "PUT", gw+"/v1/relays/"+id, testenv.Token(t, testNodeSecret, id, time.Hour), "", relayBody(id[:3], 10))
		return code, err
	}
	for _, id := range []string{"aaa-1", "bbb-1"} {
		if code, err := beat(t.Context(), id); code != 200 || err != nil {
			t.Fatalf("heartbeat %s = %d, %v", id, code, err)
		}
	}
	sentinel.Sync(t) // the replica has every relay: the failover loses none

	// Credentials all along, from before the kill to after the recovery.
	user := testenv.Token(t, testUserSecret, "alice", time.Hour)
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var mu sync.Mutex
	asked, failed := 0, map[string]int{}
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond) // a steady load, not a flood, on a shared machine
		defer tick.Stop()
		for ; ctx.Err() == nil; <-tick.C {
			code, b, err := post(ctx, "POST", gw+"/v1/credentials", user, "", nil)
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			asked++
			if code != 200 || err != nil {
				failed[fmt.Sprintf("%d %s %v", code, b, err)]++
			}
			mu.Unlock()
		}
	})
	old := sentinel.Master.Addr
	if err := sentinel.Master.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	testenv.Eventually(t, "heartbeats after the failover", failoverBound, 100*time.Millisecond, func() error {
		if code, err := beat(t.Context(), "aaa-1"); code != 200 || err != nil {
			return answerError("heartbeat", code, nil, err)
		}
		return nil
	})
	recovered := time.Since(killed)
	now := sentinel.WaitFailover(t, old, failoverBound) // the sentinels that lag learn it from the others
	if code, err := beat(t.Context(), "bbb-1"); code != 200 || err != nil {
		t.Errorf("heartbeat bbb-1 after the failover = %d, %v", code, err)
	}
	stop()
	wg.Wait()
	t.Logf("master %s killed; heartbeats taken again after %v, on %s; %d credentials asked meanwhile", old, recovered.Round(time.Millisecond), now.Addr, asked)
	if len(failed) > 0 || asked == 0 {
		t.Errorf("credentials during the failover: %d asked, failures %v; want none", asked, failed)
	}
	// The registry survived on the new master.
	code, b := call(t, "GET", gw+"/v1/relays", testenv.Token(t, testAdminSecret, "ops", time.Hour), nil)
	var list wire.RelayList
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list.Relays) != 2 {
		t.Errorf("GET /v1/relays after the failover = %d %s", code, b)
	}
}

// TestGatewayOnRedisCluster: a gateway over a three-master Cluster takes
// heartbeats and drain marks, folds its clients' measurements into hashes
// spread over every master, and picks by them, end to end: by three users'
// reports, not by one user's.
func TestGatewayOnRedisCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	env := redisGatewayEnv(cluster.URL())
	// Mallory and eve report far more often than the per-user limit allows:
	// what is under test is that many reports from one user still count
	// once, not that the limiter stops them first.
	env["RELAYGATE_RATE_MEASUREMENTS"] = "off"
	gw, _ := startGateway(t, env)
	for id, load := range map[string]int64{"aaa-1": 10, "bbb-1": 500} {
		if code, b := call(t, "PUT", gw+"/v1/relays/"+id, testenv.Token(t, testNodeSecret, id, time.Hour), relayBody(id[:3], load)); code != 200 {
			t.Fatalf("heartbeat %s = %d %s", id, code, b)
		}
	}
	// Unlocated clients (no GeoIP here) go to the least loaded relay until
	// their network's users measure: three say bbb-1 is near, aaa-1 far.
	const network, lone = "198.51.100.%d", "203.0.113.%d"
	primaryIn := func(network string) (string, error) {
		code, b, err := post(t.Context(), "POST", gw+"/v1/credentials", testenv.Token(t, testUserSecret, "alice", time.Hour), fmt.Sprintf(network, 1), nil)
		if code != 200 || err != nil {
			return "", answerError("credentials", code, b, err)
		}
		var a wire.Credentials
		if err := json.Unmarshal(b, &a); err != nil {
			return "", err
		}
		return a.Primary.RelayID + " " + string(a.Primary.Basis), nil
	}
	primary := func() (string, error) { return primaryIn(network) }
	if p, err := primary(); p != "aaa-1 fallback" || err != nil {
		t.Fatalf("before any report: primary %q, %v; want aaa-1 by load", p, err)
	}
	body := map[string]any{"measurements": []any{map[string]any{"relay_id": "bbb-1", "rtt_ms": 5},
		map[string]any{"relay_id": "aaa-1", "rtt_ms": 300}}}
	report := func(user, client string) {
		t.Helper()
		code, b, err := post(t.Context(), "POST", gw+"/v1/measurements", testenv.Token(t, testUserSecret, user, time.Hour), client, body)
		if code != 202 || err != nil {
			t.Fatalf("POST /v1/measurements = %d %s %v", code, b, err)
		}
	}
	for range 20 { // one user alone in its network, first in the queue
		report("mallory", fmt.Sprintf(lone, 66))
	}
	for i := range 30 { // a user in each of 30 other networks
		report("eve", fmt.Sprintf("198.18.%d.1", i))
	}
	for i, user := range []string{"bob", "carol", "dave"} {
		report(user, fmt.Sprintf(network, 10+i))
	}
	testenv.Eventually(t, "the network's measurements to steer its picks", 10*time.Second, 100*time.Millisecond, func() error {
		p, err := primary()
		if err == nil && p != "bbb-1 measured" {
			err = fmt.Errorf("primary %q", p)
		}
		return err
	})
	// Every report is in (one writer, in order), and mallory's network
	// goes by load still.
	if p, err := primaryIn(lone); p != "aaa-1 fallback" || err != nil {
		t.Errorf("after one user's 20 reports its network's primary is %q, %v; want aaa-1 by load", p, err)
	}
	for _, m := range cluster.Masters {
		if hashes, err := m.Client().Keys(t.Context(), "relaygate:{*}:prefix").Result(); len(hashes) == 0 || err != nil {
			t.Errorf("master %s holds %d of the 32 networks' measurements, %v; want some", m.Addr, len(hashes), err)
		}
	}
	admin := testenv.Token(t, testAdminSecret, "ops", time.Hour)
	if code, b := call(t, "POST", gw+"/v1/relays/bbb-1/drain", admin, nil); code != 200 {
		t.Fatalf("drain bbb-1 = %d %s", code, b)
	}
	if p, err := primary(); p != "aaa-1 measured" || err != nil {
		t.Errorf("with bbb-1 drained: primary %q, %v; want aaa-1", p, err)
	}
}
