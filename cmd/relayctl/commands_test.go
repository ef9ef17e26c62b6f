package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/wire"
)

func TestHelpAndUsage(t *testing.T) {
	env := map[string]string{"RELAYCTL_TOKEN": "tok-SECRET-VALUE", "RELAYCTL_TOKEN_SECRET": "jwt-SECRET-VALUE-0123456789abcdef0123"}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring
		stderr     string // substring
		stdoutNone bool
	}{
		{name: "help", args: []string{"help"}, stdout: "Exit codes:"},
		{name: "--help", args: []string{"--help"}, stdout: "Commands:"},
		{name: "help check", args: []string{"help", "check"}, stdout: "--insecure-skip-verify"},
		{name: "check --help", args: []string{"check", "--help"}, stdout: "RELAYCTL_CHECK_SECRET"},
		{name: "token -h", args: []string{"token", "-h"}, stdout: "RELAYCTL_TOKEN_SECRET"},
		{name: "probe --help lists globals", args: []string{"probe", "--help"}, stdout: "RELAYCTL_GATEWAY"},
		{name: "version", args: []string{"version"}, stdout: "relayctl "},
		{name: "--version", args: []string{"--version"}, stdout: " " + runtime.Version() + " "},
		{name: "no command", args: nil, code: exitUsage, stderr: "no command given", stdoutNone: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`},
		{name: "help unknown", args: []string{"help", "frobnicate"}, code: exitUsage, stderr: "unknown command"},
		{name: "unknown flag", args: []string{"relays", "--bogus"}, code: exitUsage, stderr: "flag provided but not defined: -bogus"},
		{name: "bad duration", args: []string{"probe", "--gap", "soon", "127.0.0.1:1"}, code: exitUsage, stderr: "-gap"},
		{name: "drain without id", args: []string{"drain"}, code: exitUsage, stderr: "one relay id"},
		{name: "drain bad id", args: []string{"drain", "Not_A_Slug"}, code: exitUsage, stderr: "relay id"},
		{name: "revoke without subject", args: []string{"revoke"}, code: exitUsage, stderr: "one subject"},
		{name: "revoke bad until", args: []string{"revoke", "--until", "tomorrow", "bob"}, code: exitUsage, stderr: "--until"},
		{name: "revoke subject with a control character", args: []string{"revoke", "bo\x01b"}, code: exitUsage, stderr: "subject"},
		{name: "revocations with an argument", args: []string{"revocations", "bob"}, code: exitUsage, stderr: "no arguments"},
		{name: "bad gateway URL", args: []string{"--gateway", "ftp://x", "relays"}, code: exitUsage, stderr: "--gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := relayctl(t, env, tt.args...)
			wantCode(t, "relayctl "+strings.Join(tt.args, " "), code, tt.code, stdout, stderr)
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if tt.stdoutNone && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Contains(stdout+stderr, "SECRET-VALUE") {
				t.Errorf("output shows a secret from the environment:\n%s\n%s", stdout, stderr)
			}
		})
	}
}

func TestEnvironmentTwins(t *testing.T) {
	w := getWorld(t)
	closed := "http://" + closedPort(t, "tcp")

	t.Run("RELAYCTL_GATEWAY is used", func(t *testing.T) {
		code, stdout, stderr := relayctl(t, map[string]string{"RELAYCTL_GATEWAY": closed, "RELAYCTL_TOKEN": w.user}, "credentials")
		wantCode(t, "credentials", code, exitNetwork, stdout, stderr)
		if !strings.Contains(stderr, closed) || !strings.Contains(stderr, "connection refused") {
			t.Errorf("stderr = %q, want the gateway URL and the refusal", stderr)
		}
		if strings.Contains(stderr, w.user) {
			t.Error("the token appears in the error")
		}
	})
	t.Run("flag wins over environment", func(t *testing.T) {
		env := map[string]string{"RELAYCTL_GATEWAY": closed, "RELAYCTL_TOKEN": w.user}
		code, stdout, stderr := relayctl(t, env, "credentials", "--gateway", w.gateway)
		wantCode(t, "credentials --gateway", code, exitOK, stdout, stderr)
	})
	t.Run("global flag before the command", func(t *testing.T) {
		env := map[string]string{"RELAYCTL_GATEWAY": closed}
		code, stdout, stderr := relayctl(t, env, "--gateway", w.gateway, "--token", w.user, "credentials", "--json")
		wantCode(t, "--gateway X credentials", code, exitOK, stdout, stderr)
	})
	t.Run("bad environment value names the variable", func(t *testing.T) {
		code, stdout, stderr := relayctl(t, map[string]string{"RELAYCTL_TIMEOUT": "soon"}, "relays")
		wantCode(t, "relays", code, exitUsage, stdout, stderr)
		if !strings.Contains(stderr, "RELAYCTL_TIMEOUT") {
			t.Errorf("stderr = %q, want RELAYCTL_TIMEOUT named", stderr)
		}
	})
	t.Run("command flag from environment", func(t *testing.T) {
		env := w.userEnv()
		env["RELAYCTL_RTC"] = "true"
		code, stdout, stderr := relayctl(t, env, "credentials")
		wantCode(t, "credentials", code, exitOK, stdout, stderr)
		if !strings.Contains(stdout, "iceTransportPolicy") {
			t.Errorf("RELAYCTL_RTC=true did not select --rtc:\n%s", stdout)
		}
	})
}

func TestCredentials(t *testing.T) {
	w := getWorld(t)
	t.Run("json", func(t *testing.T) {
		cr, _, _ := relayctlJSON[wire.Credentials](t, w.userEnv(), exitOK, "credentials", "--ttl", "10m", "--transport", "udp,tcp", "--json")
		if cr.TTLSeconds != 600 || cr.Primary.RelayID == "" || cr.Backup == nil || cr.Primary.Site == cr.Backup.Site {
			t.Errorf("answer = %+v, want ttl 600 and primary and backup on two sites", cr)
		}
		for _, r := range cr.Choices() {
			for _, u := range r.URLs {
				if strings.HasPrefix(u, "turns:") {
					t.Errorf("--transport udp,tcp gave %s", u)
				}
			}
		}
	})
	t.Run("countries", func(t *testing.T) {
		// loop-a reports DE; loop-b no country, so any policy refuses it.
		cr, _, _ := relayctlJSON[wire.Credentials](t, w.userEnv(), exitOK, "credentials", "--allow-countries", "de", "--json")
		if cr.Primary.RelayID != "loop-a" || cr.Primary.Country.String() != "DE" || cr.Backup != nil {
			t.Errorf("--allow-countries de: %+v, want loop-a in DE alone", cr.Choices())
		}
		code, stdout, stderr := relayctl(t, w.userEnv(), "credentials", "--allow-countries", "DE")
		wantCode(t, "credentials --allow-countries DE", code, exitOK, stdout, stderr)
		if !strings.Contains(stdout, "COUNTRY") || !strings.Contains(stdout, " DE ") {
			t.Errorf("output lacks the country:\n%s", stdout)
		}
	})
	t.Run("rtc", func(t *testing.T) {
		m, stdout, _ := relayctlJSON[map[string]json.RawMessage](t, w.userEnv(), exitOK, "credentials", "--rtc")
		if len(m) != 2 || string(m["iceTransportPolicy"]) != `"relay"` || m["iceServers"] == nil {
			t.Errorf("--rtc = %s, want exactly iceServers and iceTransportPolicy \"relay\"", stdout)
		}
		var servers []map[string]any
		if err := json.Unmarshal(m["iceServers"], &servers); err != nil {
			t.Fatalf("--rtc iceServers: %v", err)
		}
		if len(servers) == 0 || servers[0]["username"] == nil || servers[0]["credential"] == nil || servers[0]["urls"] == nil {
			t.Errorf("iceServers = %s", m["iceServers"])
		}
	})
	t.Run("human", func(t *testing.T) {
		code, stdout, stderr := relayctl(t, w.userEnv(), "credentials")
		wantCode(t, "credentials", code, exitOK, stdout, stderr)
		for _, want := range []string{"username", "expires", "primary", "backup", "loop-a", "loop-b", "turn:127.0.0.1:"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{name: "ttl too short", env: w.userEnv(), args: []string{"--ttl", "5s"}, code: exitUsage, stderr: "--ttl 5s out of range"},
		{name: "bad transport", env: w.userEnv(), args: []string{"--transport", "sctp"}, code: exitUsage, stderr: "--transport"},
		{name: "no token", env: map[string]string{"RELAYCTL_GATEWAY": w.gateway}, code: exitUsage, stderr: "needs a user token"},
		{name: "admin token is forbidden", env: w.adminEnv(), code: exitAPI, stderr: "gateway answered 403"},
		{name: "bad token", env: map[string]string{"RELAYCTL_GATEWAY": w.gateway, "RELAYCTL_TOKEN": testenv.Token(t, "wrong-secret-0123456789abcdef012345", "x", time.Hour)}, code: exitAPI, stderr: "401"},
		{name: "stray argument", env: w.userEnv(), args: []string{"extra"}, code: exitUsage, stderr: "no arguments"},
		{name: "bad country", env: w.userEnv(), args: []string{"--exclude-countries", "DE,EU"}, code: exitUsage, stderr: "--exclude-countries"},
		{name: "no relay in the countries", env: w.userEnv(), args: []string{"--allow-countries", "FR"}, code: exitAPI, stderr: "409"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := relayctl(t, tt.env, append([]string{"credentials"}, tt.args...)...)
			wantCode(t, tt.name, code, tt.code, stdout, stderr)
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	writeKey := func(name string, key any) string {
		b, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, edKey, edErr := ed25519.GenerateKey(rand.Reader)
	ecKey, ecErr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, rsaErr := rsa.GenerateKey(rand.Reader, 2048)
	if err := errors.Join(edErr, ecErr, rsaErr); err != nil {
		t.Fatal(err)
	}
	ecSEC1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecSEC1File := filepath.Join(dir, "ec-sec1.pem")
	if err := os.WriteFile(ecSEC1File, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecSEC1}), 0o600); err != nil {
		t.Fatal(err)
	}

	valid := []struct {
		name   string
		args   []string
		env    map[string]string
		alg    string
		verify any
	}{
		{name: "HS256", args: []string{"--secret", testAdminSecret}, alg: "HS256", verify: []byte(testAdminSecret)},
		{name: "HS256 from env", env: map[string]string{"RELAYCTL_TOKEN_SECRET": testAdminSecret}, alg: "HS256", verify: []byte(testAdminSecret)},
		{name: "EdDSA", args: []string{"--private-key", writeKey("ed.pem", edKey)}, alg: "EdDSA", verify: edKey.Public()},
		{name: "ES256", args: []string{"--private-key", writeKey("ec.pem", ecKey)}, alg: "ES256", verify: &ecKey.PublicKey},
		{name: "ES256 SEC 1", args: []string{"--private-key", ecSEC1File}, alg: "ES256", verify: &ecKey.PublicKey},
		{name: "RS256", args: []string{"--private-key", writeKey("rsa.pem", rsaKey)}, alg: "RS256", verify: &rsaKey.PublicKey},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token", "--role", "admin", "--sub", "ops", "--ttl", "2h", "--issuer", "me", "--audience", "relaygate"}, tt.args...)
			code, stdout, stderr := relayctl(t, tt.env, args...)
			wantCode(t, "token", code, exitOK, stdout, stderr)
			claims := jwt.RegisteredClaims{}
			tok, err := jwt.ParseWithClaims(strings.TrimSpace(stdout), &claims, func(*jwt.Token) (any, error) { return tt.verify, nil },
				jwt.WithValidMethods([]string{tt.alg}), jwt.WithIssuer("me"), jwt.WithAudience("relaygate"), jwt.WithExpirationRequired())
			if err != nil || !tok.Valid {
				t.Fatalf("token does not verify: %v", err)
			}
			if claims.Subject != "ops" || time.Until(claims.ExpiresAt.Time) < 119*time.Minute {
				t.Errorf("claims = %+v, want sub ops and a 2h expiry", claims)
			}
		})
	}

	wantUsageErrors(t, nil, "token", []usageCase{
		{name: "no role", args: []string{"--sub", "x", "--secret", testAdminSecret}, stderr: "--role is required"},
		{name: "bad role", args: []string{"--role", "root", "--sub", "x", "--secret", testAdminSecret}, stderr: "--role"},
		{name: "no sub", args: []string{"--role", "user", "--secret", testAdminSecret}, stderr: "--sub is required"},
		{name: "node sub not a relay id", args: []string{"--role", "node", "--sub", "Fra 1", "--secret", testAdminSecret}, stderr: "relay id"},
		{name: "short secret", args: []string{"--role", "user", "--sub", "x", "--secret", "short-SECRET-VALUE"}, stderr: "shorter than 32"},
		{name: "no key", args: []string{"--role", "user", "--sub", "x"}, stderr: "--secret (HS256) or --private-key"},
		{name: "both keys", args: []string{"--role", "user", "--sub", "x", "--secret", testAdminSecret, "--private-key", "k.pem"}, stderr: "not both"},
		{name: "missing key file", args: []string{"--role", "user", "--sub", "x", "--private-key", filepath.Join(dir, "nope.pem")}, stderr: "--private-key"},
		{name: "not a key", args: []string{"--role", "user", "--sub", "x", "--private-key", "-----BEGIN NOTHING-----\nSECRET-VALUE\n-----END NOTHING-----"}, stderr: "--private-key"},
	})
}

func TestRelaysAndDrain(t *testing.T) {
	w := getWorld(t)
	// The admin token comes from relayctl token itself.
	code, stdout, stderr := relayctl(t, map[string]string{"RELAYCTL_TOKEN_SECRET": testAdminSecret}, "token", "--role", "admin", "--sub", "ops")
	wantCode(t, "token", code, exitOK, stdout, stderr)
	env := map[string]string{"RELAYCTL_GATEWAY": w.gateway, "RELAYCTL_TOKEN": strings.TrimSpace(stdout)}

	code, stdout, stderr = relayctl(t, env, "relays")
	wantCode(t, "relays", code, exitOK, stdout, stderr)
	for _, want := range []string{"ID", "COUNTRY", "HEARTBEAT", "loop-a", "loop-b", "available", "up", "/-", "ago", " DE "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("relays lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, stderr = relayctl(t, env, "drain", "loop-b")
	wantCode(t, "drain", code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "loop-b: drained (state drained)") {
		t.Errorf("drain printed %q", stdout)
	}
	t.Cleanup(func() { relayctl(t, env, "undrain", "loop-b") })

	list, _, _ := relayctlJSON[wire.RelayList](t, env, exitOK, "relays", "--json")
	states := map[string]wire.RelayState{}
	for _, r := range list.Relays {
		states[r.ID] = r.State
	}
	if states["loop-b"] != "drained" || states["loop-a"] != "available" {
		t.Errorf("states = %v, want loop-b drained, loop-a available", states)
	}

	code, stdout, stderr = relayctl(t, env, "undrain", "loop-b", "--json")
	wantCode(t, "undrain", code, exitOK, stdout, stderr)
	var st wire.RelayStatus
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || st.Drained || st.ID != "loop-b" {
		t.Errorf("undrain --json = %s (%v), want loop-b not drained", stdout, err)
	}

	code, stdout, stderr = relayctl(t, env, "drain", "nope-9")
	wantCode(t, "drain unknown", code, exitAPI, stdout, stderr)
	if !strings.Contains(stderr, "404") || !strings.Contains(stderr, "relay-not-found") {
		t.Errorf("stderr = %q, want the 404 problem", stderr)
	}
	code, stdout, stderr = relayctl(t, w.userEnv(), "relays")
	wantCode(t, "relays with a user token", code, exitAPI, stdout, stderr)
	if !strings.Contains(stderr, "403") {
		t.Errorf("stderr = %q, want 403", stderr)
	}
}

func TestProgress(t *testing.T) {
	b := &testenv.Buffer{}
	stop := startProgress(b, true, 2, 10, time.Millisecond)
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		s, wake := b.Snapshot()
		if strings.Contains(s, "round") {
			break
		}
		select {
		case <-wake:
		case <-deadline.C:
			t.Fatal("no progress line within 5s")
		}
	}
	stop()
	s, _ := b.Snapshot()
	if !strings.Contains(s, "probing 2 relay address(es): round") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress wrote %q, want a round line and a final erase", s)
	}
	var none bytes.Buffer
	startProgress(&none, false, 2, 10, time.Millisecond)()
	if none.Len() != 0 {
		t.Errorf("disabled progress wrote %q", none.String())
	}
}

func TestRevokeAndRevocations(t *testing.T) {
	w := getWorld(t)
	code, stdout, stderr := relayctl(t, map[string]string{"RELAYCTL_TOKEN_SECRET": testAdminSecret}, "token", "--role", "admin", "--sub", "ops")
	wantCode(t, "token", code, exitOK, stdout, stderr)
	env := map[string]string{"RELAYCTL_GATEWAY": w.gateway, "RELAYCTL_TOKEN": strings.TrimSpace(stdout)}
	const subject = "relayctl-revoked@example.com"

	code, stdout, stderr = relayctl(t, env, "revocations")
	wantCode(t, "revocations", code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "no subject is revoked") {
		t.Errorf("revocations before any = %q", stdout)
	}
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	code, stdout, stderr = relayctl(t, env, "revoke", "--until", until.Format(time.RFC3339), subject)
	wantCode(t, "revoke", code, exitOK, stdout, stderr)
	if want := "revoked " + subject + " until " + until.Format(time.RFC3339); !strings.Contains(stdout, want) {
		t.Errorf("revoke printed %q, want %q", stdout, want)
	}
	t.Cleanup(func() { relayctl(t, env, "revoke", "--lift", subject) })

	code, stdout, stderr = relayctl(t, env, "revocations")
	wantCode(t, "revocations", code, exitOK, stdout, stderr)
	for _, want := range []string{"SUBJECT", "UNTIL", subject, until.Format(time.RFC3339)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("revocations lacks %q:\n%s", want, stdout)
		}
	}
	list, _, _ := relayctlJSON[wire.RevocationList](t, env, exitOK, "revocations", "--json")
	if len(list.Revocations) != 1 || list.Revocations[0].Subject != subject {
		t.Errorf("revocations --json = %+v, want the one revocation", list)
	}

	// The revoked subject gets no credentials.
	userEnv := map[string]string{"RELAYCTL_GATEWAY": w.gateway, "RELAYCTL_TOKEN": testenv.Token(t, testUserSecret, subject, time.Hour)}
	code, stdout, stderr = relayctl(t, userEnv, "credentials")
	wantCode(t, "credentials of a revoked subject", code, exitAPI, stdout, stderr)
	if !strings.Contains(stderr, "403") || !strings.Contains(stderr, "subject-revoked") {
		t.Errorf("stderr = %q, want the 403 subject-revoked problem", stderr)
	}

	code, stdout, stderr = relayctl(t, env, "revoke", "--lift", subject)
	wantCode(t, "revoke --lift", code, exitOK, stdout, stderr)
	code, stdout, stderr = relayctl(t, env, "revoke", "--lift", subject)
	wantCode(t, "revoke --lift again", code, exitAPI, stdout, stderr)
	if !strings.Contains(stderr, "404") || !strings.Contains(stderr, "revocation-not-found") {
		t.Errorf("stderr = %q, want the 404 revocation-not-found problem", stderr)
	}
	code, stdout, stderr = relayctl(t, env, "revoke", "--until", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), subject)
	wantCode(t, "revoke in the past", code, exitAPI, stdout, stderr)
	if !strings.Contains(stderr, "400") {
		t.Errorf("stderr = %q, want 400", stderr)
	}
}
