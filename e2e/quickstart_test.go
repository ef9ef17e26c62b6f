package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
)

// TestQuickStart runs README's quick start, scripts/demo.sh --once, on free
// loopback ports: it must build the binaries, bring up the gateway and a
// real relaynode, hand out that relay, and relayctl check must relay
// packets through it over UDP and TCP. The script exits non-zero on any
// failure; the output is checked besides.
func TestQuickStart(t *testing.T) {
	requireTools(t, "bash", "curl", "openssl")
	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreeTCPPort(t))
	relayListen := fmt.Sprintf("127.0.0.1:%d", testenv.FreeUDPTCPPort(t))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "scripts/demo.sh", "--once")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "RELAYGATE_LISTEN="+listen, "RELAYNODE_LISTEN="+relayListen, "DEMO_BIN="+t.TempDir())
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh --once: %v\n%s", err, out)
	}
	for _, want := range []string{
		"relaynode lo-1 on " + relayListen + " (UDP, TCP) registered and probed",
		`"relay_id": "lo-1"`,
		`"ice_transport_policy": "relay"`,
		"turn:" + relayListen + "?transport=udp: works",
		"turn:" + relayListen + "?transport=tcp: works",
		"summary: UDP works; TCP works",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the quick start's output lacks %q:\n%s", want, out)
		}
	}
}
