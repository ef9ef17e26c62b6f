package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/devtoken"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/wire"
)

// startProc starts a relaygate or relaynode with args and only the
// environment the test gives it: no RELAYGATE_*/RELAYNODE_* from the
// caller's shell.
func startProc(name, bin string, args ...string) (*testenv.Proc, error) {
	cmd := exec.CommandContext(context.Background(), bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RELAYGATE_") && !strings.HasPrefix(kv, "RELAYNODE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return testenv.StartProc(name, cmd)
}

type relayAddrs struct{ id, udp, tcp, tls string }

// world is one relaygate and three relaynodes on loopback, shared by the
// tests (they run one after another): loop-a (site a; UDP, TCP and TLS)
// and loop-b (site b; UDP and TCP) heartbeat into the gateway and allow
// loopback peers; loop-c is standalone with the default peer filter.
type world struct {
	once    sync.Once
	err     error
	procs   []*testenv.Proc
	dir     string
	gateway string
	user    string // user token
	admin   string // admin token
	caFile  string // the certificate loop-a's TLS listener uses
	a, b, c relayAddrs
}

var theWorld world

func (w *world) stop() {
	for i := len(w.procs) - 1; i >= 0; i-- {
		if err := w.procs[i].Stop(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

func getWorld(t *testing.T) *world {
	t.Helper()
	gw, rn := bins.Path(t, "relaygate"), bins.Path(t, "relaynode")
	theWorld.once.Do(func() { theWorld.err = theWorld.start(gw, rn) })
	if theWorld.err != nil {
		for _, p := range theWorld.procs {
			t.Logf("--- %s:\n%s", p.Name, p.Logs)
		}
		t.Fatalf("starting relaygate and relaynodes: %v", theWorld.err)
	}
	return &theWorld
}

func (w *world) start(gwBin, rnBin string) error {
	var err error
	if w.dir, err = os.MkdirTemp("", "relayctl-test-"); err != nil {
		return err
	}
	certFile, keyFile := filepath.Join(w.dir, "cert.pem"), filepath.Join(w.dir, "key.pem")
	if err := writeCert(certFile, keyFile, "localhost", "127.0.0.1"); err != nil {
		return err
	}
	w.caFile = certFile

	g, err := startProc("relaygate", gwBin, "--listen", "127.0.0.1:0",
		"--turn-secrets", "k1:"+testTURNSecret,
		"--user-jwt-secret", testUserSecret, "--node-jwt-secret", testNodeSecret, "--admin-jwt-secret", testAdminSecret,
		"--probe-interval", "200ms", "--heartbeat-ttl", "5s", "--shutdown-grace", "2s",
		"--allow-relay-networks", "127.0.0.0/8", // the relaynodes are on loopback
		"--rate-user", "off", "--rate-prefix", "off") // the tests poll for credentials far more often than a user would
	if err != nil {
		return err
	}
	w.procs = append(w.procs, g)
	m, err := g.WaitLog("relaygate listening", 20*time.Second)
	if err != nil {
		return err
	}
	w.gateway = "http://" + m["addr"].(string)
	if w.user, err = devtoken.Sign(testUserSecret, "alice", time.Hour); err != nil {
		return err
	}
	if w.admin, err = devtoken.Sign(testAdminSecret, "ops", time.Hour); err != nil {
		return err
	}

	relay := func(id, site string, gateway bool, extra ...string) (relayAddrs, error) {
		args := []string{"--id", id, "--region", "test", "--site", site, "--lat", "50", "--lon", "8",
			"--listen-udp", "127.0.0.1:0", "--listen-tcp", "127.0.0.1:0",
			"--secrets", "k1:" + testTURNSecret, "--drain-timeout", "1s", "--heartbeat-interval", "1s"}
		if gateway {
			tok, err := devtoken.Sign(testNodeSecret, id, time.Hour)
			if err != nil {
				return relayAddrs{}, err
			}
			args = append(args, "--gateway-url", w.gateway, "--node-token", tok)
		}
		p, err := startProc(id, rnBin, append(args, extra...)...)
		if err != nil {
			return relayAddrs{}, err
		}
		w.procs = append(w.procs, p)
		m, err := p.WaitLog("relay started", 20*time.Second)
		if err != nil {
			return relayAddrs{}, err
		}
		r := relayAddrs{id: id, udp: m["udp"].(string), tcp: m["tcp"].(string)}
		if s, _ := m["tls"].(string); s != "" && s != "invalid AddrPort" {
			r.tls = s
		}
		return r, nil
	}
	if w.a, err = relay("loop-a", "a", true, "--country", "de", "--allow-peers", "127.0.0.0/8",
		"--listen-tls", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--hostname", "localhost"); err != nil {
		return err
	}
	if w.b, err = relay("loop-b", "b", true, "--allow-peers", "127.0.0.0/8"); err != nil {
		return err
	}
	if w.c, err = relay("loop-c", "c", false); err != nil {
		return err
	}
	// Both gateway relays registered, and probed up.
	return testenv.Poll(20*time.Second, 100*time.Millisecond, func() error {
		var list wire.RelayList
		code, body := httpCall(w.gateway+"/v1/relays", w.admin)
		if code == 200 && json.Unmarshal(body, &list) == nil {
			up := 0
			for _, r := range list.Relays {
				if r.State == "available" && r.Probe != nil && r.Probe.Health == "up" {
					up++
				}
			}
			if up == 2 {
				return nil
			}
		}
		return fmt.Errorf("relays not available in the gateway: %d %s", code, body)
	})
}

// writeCert writes a self-signed CA certificate for hosts and its key.
func writeCert(certFile, keyFile string, hosts ...string) error {
	certPEM, keyPEM, err := relaytest.SelfSignedPEM(hosts...)
	if err != nil {
		return err
	}
	return errors.Join(os.WriteFile(certFile, certPEM, 0o600), os.WriteFile(keyFile, keyPEM, 0o600))
}

// userEnv points relayctl at the world's gateway with a user token.
func (w *world) userEnv() map[string]string {
	return map[string]string{"RELAYCTL_GATEWAY": w.gateway, "RELAYCTL_TOKEN": w.user}
}

func (w *world) adminEnv() map[string]string {
	return map[string]string{"RELAYCTL_GATEWAY": w.gateway, "RELAYCTL_TOKEN": w.admin}
}
