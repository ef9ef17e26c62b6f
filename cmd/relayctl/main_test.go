package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	theWorld.stop()
	if err := bins.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// Secrets of the test deployment. They are long enough for every check and
// distinctive, so a test can tell when one leaks into output.
const (
	testTURNSecret  = "turn-secret-0123456789abcdef"
	testUserSecret  = "user-secret-0123456789abcdef0123456789"
	testNodeSecret  = "node-secret-0123456789abcdef0123456789"
	testAdminSecret = "admin-secret-0123456789abcdef012345678"
)

// bins are relaygate and relaynode built from this tree, once per test binary.
var bins = testenv.Commands{Pkgs: []string{"github.com/relaygate/relaygate/cmd/relaygate", "github.com/relaygate/relaygate/cmd/relaynode"}}

// httpCall GETs url with a bearer token; a failed request is status 0
// with the error as its body.
func httpCall(url, token string) (int, []byte) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, b
}

// relayctl runs run() with env as the whole environment and returns the
// exit code and output.
func relayctl(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

// relayctlJSON runs relayctl as relayctl does, wants exit code want and
// decodes stdout as a T. It returns stdout and stderr too.
func relayctlJSON[T any](t *testing.T, env map[string]string, want int, args ...string) (out T, stdout, stderr string) {
	t.Helper()
	cmdline := strings.Join(args, " ")
	code, stdout, stderr := relayctl(t, env, args...)
	wantCode(t, cmdline, code, want, stdout, stderr)
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("relayctl %s printed no %T: %v\n%s", cmdline, out, err, stdout)
	}
	return out, stdout, stderr
}

// closedPort returns a loopback port on network where nothing listens.
func closedPort(t *testing.T, network string) string {
	t.Helper()
	port := 0
	switch network {
	case "udp":
		port = testenv.FreeUDPPort(t)
	default:
		port = testenv.FreeTCPPort(t)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func wantCode(t *testing.T, what string, got, want int, stdout, stderr string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, got, want, stdout, stderr)
	}
}

// usageCase is a command line relayctl refuses as a usage error.
type usageCase struct {
	name   string
	args   []string // after the command's name
	stderr string   // what stderr must say
}

// wantUsageErrors runs command with each case's args and env, and wants
// exit 2 with the case's words on stderr, and no secret of the tests
// (values marked SECRET-VALUE, the admin JWT secret) in them.
func wantUsageErrors(t *testing.T, env map[string]string, command string, cases []usageCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := relayctl(t, env, append([]string{command}, tt.args...)...)
			wantCode(t, tt.name, code, exitUsage, stdout, stderr)
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderr)
			}
			if strings.Contains(stderr, "SECRET-VALUE") || strings.Contains(stderr, testAdminSecret) {
				t.Errorf("stderr shows the secret: %q", stderr)
			}
		})
	}
}
