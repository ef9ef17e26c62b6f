package turncred

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the scheme under test
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func mustSecrets(t testing.TB, list string) []Secret {
	t.Helper()
	s, err := ParseSecrets(list)
	if err != nil {
		t.Fatalf("ParseSecrets(...) error = %v", err)
	}
	return s
}

func mustMinter(t testing.TB, secrets []Secret) *Minter {
	t.Helper()
	m, err := NewMinter(secrets, []byte("pseudonym-key-0123456789"))
	if err != nil {
		t.Fatalf("NewMinter() error = %v", err)
	}
	return m
}

func TestMintVerifiesWithPlainHMACSHA1(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	m := mustMinter(t, mustSecrets(t, "k1:"+secret))
	c := m.Mint("alice@example.com", 10*time.Minute, t0)

	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(c.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); c.Password != want {
		t.Errorf("Mint().Password = %q, want crypto/hmac's %q", c.Password, want)
	}

	// And with a tool that has nothing to do with Go: openssl.
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	cmd := exec.Command("openssl", "dgst", "-sha1", "-hmac", secret, "-binary")
	cmd.Stdin = strings.NewReader(c.Username)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	if want := base64.StdEncoding.EncodeToString(out); c.Password != want {
		t.Errorf("Mint().Password = %q, want openssl's %q", c.Password, want)
	}
}

func TestMintUsernameShape(t *testing.T) {
	m := mustMinter(t, mustSecrets(t, "k2:0123456789abcdef-new,k1:0123456789abcdef-old"))
	c := m.Mint("alice", 90*time.Second+300*time.Millisecond, t0)
	u, err := ParseUsername(c.Username)
	if err != nil {
		t.Fatalf("ParseUsername(%q) error = %v", c.Username, err)
	}
	if want := t0.Add(91 * time.Second).Unix(); u.Expiry != want {
		t.Errorf("expiry = %d, want %d (rounded up to the second)", u.Expiry, want)
	}
	if !c.Expires.Equal(u.Expires()) {
		t.Errorf("Credential.Expires = %v, username says %v", c.Expires, u.Expires())
	}
	if u.KeyID() != "k2" {
		t.Errorf("KeyID() = %q, want newest secret k2", u.KeyID())
	}
	if strings.Contains(c.Username, "alice") {
		t.Errorf("username %q carries the subject in clear", c.Username)
	}
	if p := u.Pseudonym(m.secretsForTest()); p != m.Pseudonym("alice") || len(p) != 20 {
		t.Errorf("Pseudonym() = %q, want %q (20 chars)", p, m.Pseudonym("alice"))
	}
}

func (m *Minter) secretsForTest() []Secret { return []Secret{m.secret} }

func TestPseudonymStableAndKeyed(t *testing.T) {
	s := mustSecrets(t, "k1:0123456789abcdef-secret")
	a, _ := NewMinter(s, []byte("pseudonym-key-0123456789"))
	b, _ := NewMinter(s, []byte("pseudonym-key-0123456789"))
	c, _ := NewMinter(s, []byte("another-key-0123456789ab"))
	if a.Pseudonym("bob") != b.Pseudonym("bob") {
		t.Error("two minters with one key disagree on a pseudonym (replicas must agree)")
	}
	if a.Pseudonym("bob") == a.Pseudonym("carol") {
		t.Error("two subjects share a pseudonym")
	}
	if a.Pseudonym("bob") == c.Pseudonym("bob") {
		t.Error("pseudonym does not depend on the key")
	}
}

func TestVerify(t *testing.T) {
	newer := "k2:0123456789abcdef-new"
	older := "k1:0123456789abcdef-old"
	oldMinter := mustMinter(t, mustSecrets(t, older))
	newMinter := mustMinter(t, mustSecrets(t, newer+","+older))
	fresh := newMinter.Mint("alice", time.Hour, t0)
	legacy := oldMinter.Mint("alice", time.Hour, t0)

	tests := []struct {
		name      string
		secrets   string
		user, pwd string
		now       time.Time
		want      error
	}{
		{name: "fresh credential", secrets: newer + "," + older, user: fresh.Username, pwd: fresh.Password, now: t0},
		{name: "older secret still listed keeps working", secrets: newer + "," + older, user: legacy.Username, pwd: legacy.Password, now: t0},
		{name: "removed secret is refused", secrets: newer, user: legacy.Username, pwd: legacy.Password, now: t0, want: ErrMismatch},
		{name: "expired at expiry", secrets: newer, user: fresh.Username, pwd: fresh.Password, now: fresh.Expires, want: ErrExpired},
		{name: "valid a second before expiry", secrets: newer, user: fresh.Username, pwd: fresh.Password, now: fresh.Expires.Add(-time.Second)},
		{name: "wrong password", secrets: newer, user: fresh.Username, pwd: legacy.Password, now: t0, want: ErrMismatch},
		{name: "tampered expiry", secrets: newer, user: "9" + fresh.Username, pwd: fresh.Password, now: t0, want: ErrMismatch},
		{name: "malformed username", secrets: newer, user: "alice", pwd: "x", now: t0, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(mustSecrets(t, tt.secrets))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(tt.user, tt.pwd, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnkeyedUsernameVerifiesUnderEverySecret(t *testing.T) {
	// turnutils_uclient -W and other TURN REST tools mint "<expiry>:<user>";
	// coturn accepts them under any of its static-auth-secrets.
	secrets := mustSecrets(t, "k2:0123456789abcdef-new,k1:0123456789abcdef-old")
	v, _ := NewVerifier(secrets)
	other, _ := NewBareSecret("0123456789abcdef-other")
	name := fmt.Sprintf("%d:ninefingers", t0.Add(time.Hour).Unix())
	for i, s := range secrets {
		if _, err := v.Verify(name, Password(s, name), t0); err != nil {
			t.Errorf("Verify(un-keyed username under secret %d) error = %v", i, err)
		}
	}
	if _, err := v.Verify(name, Password(other, name), t0); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(un-keyed username under an unlisted secret) error = %v, want ErrMismatch", err)
	}
	u, _ := ParseUsername("1:alice.smith")
	if p := u.Pseudonym(secrets); p != "alice.smith" {
		t.Errorf("Pseudonym() = %q, want the whole user when the prefix names no secret", p)
	}
}

func TestMatch(t *testing.T) {
	secrets := mustSecrets(t, "k3:0123456789abcdef-new,k2:0123456789abcdef-mid,k1:0123456789abcdef-old")
	v, _ := NewVerifier(secrets)
	unlisted, _ := NewBareSecret("0123456789abcdef-unlisted")
	exp := t0.Add(time.Hour).Unix()
	unkeyed := fmt.Sprintf("%d:bob", exp)
	keyedOld := fmt.Sprintf("%d:k1.bob", exp)
	unknownID := fmt.Sprintf("%d:k9.bob", exp)
	tests := []struct {
		name     string
		username string
		holds    Secret // the client's password is username's under this
		want     string // matched id, "" for ErrMismatch
		tries    int
	}{
		{name: "un-keyed, newest", username: unkeyed, holds: secrets[0], want: "k3", tries: 1},
		{name: "un-keyed, oldest", username: unkeyed, holds: secrets[2], want: "k1", tries: 3},
		{name: "un-keyed, unlisted", username: unkeyed, holds: unlisted, tries: 3},
		{name: "keyed goes straight to its secret", username: keyedOld, holds: secrets[2], want: "k1", tries: 1},
		{name: "keyed under another secret is refused", username: keyedOld, holds: secrets[0], tries: 1},
		{name: "unknown key id is un-keyed", username: unknownID, holds: secrets[1], want: "k2", tries: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held, tries := Password(tt.holds, tt.username), 0
			s, u, err := v.Match(tt.username, func(pw string) bool { tries++; return pw == held })
			switch {
			case tt.want == "" && !errors.Is(err, ErrMismatch):
				t.Errorf("Match() error = %v, want ErrMismatch", err)
			case tt.want != "" && (err != nil || s.ID != tt.want):
				t.Errorf("Match() = %v, %v; want secret %s", s, err, tt.want)
			}
			if tries != tt.tries {
				t.Errorf("Match() tried %d passwords, want %d", tries, tt.tries)
			}
			if u.Expiry != exp {
				t.Errorf("Match() username expiry = %d, want %d", u.Expiry, exp)
			}
			if got := v.Keyed(u); got != (tt.username == keyedOld) {
				t.Errorf("Keyed() = %v", got)
			}
		})
	}
	if _, _, err := v.Match("bob", func(string) bool { t.Fatal("HMAC for a malformed username"); return true }); !errors.Is(err, ErrMalformed) {
		t.Errorf("Match(malformed) error = %v, want ErrMalformed", err)
	}
}

func TestVerifyRefusesExpiredBeforeHMAC(t *testing.T) {
	secrets := mustSecrets(t, "k2:0123456789abcdef-new,k1:0123456789abcdef-old")
	v, _ := NewVerifier(secrets)
	name := fmt.Sprintf("%d:bob", t0.Unix())
	// A wrong password too: the expiry is what it hears about.
	if _, err := v.Verify(name, "d3Jvbmc=", t0); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify(expired, wrong password) error = %v, want ErrExpired", err)
	}
}

// refused checks a parse's error: it must match want (nil: no error), and
// must not show secret, a part of the secret parsed. It reports whether
// there was an error, after which the caller checks nothing more.
func refused(t *testing.T, call string, err, want error, secret string) bool {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s error = %v, want %v", call, err, want)
	}
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("error %q leaks the secret", err)
	}
	return err != nil
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, in string
		wantID   string
		value    string // what the secret signs with
		wantErr  error
	}{
		{name: "id and secret", in: "k1:0123456789abcdefXX", wantID: "k1", value: "0123456789abcdefXX"},
		{name: "bare", in: "0123456789abcdefXX", value: "0123456789abcdefXX"},
		{name: "bare with a colon after a non-id", in: "a.b:0123456789abcdefXX", value: "a.b:0123456789abcdefXX"},
		{name: "leading colon forces bare", in: ":k1:0123456789abcdefXX", value: "k1:0123456789abcdefXX"},
		{name: "short bare", in: "SHORT-VALUE", wantErr: ErrBadSecrets},
		{name: "short with id", in: "k1:SHORT-VALUE-1", wantErr: ErrBadSecrets},
		{name: "empty", in: "", wantErr: ErrBadSecrets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSecret(tt.in)
			if refused(t, fmt.Sprintf("ParseSecret(%q)", tt.in), err, tt.wantErr, "SHORT-VALUE") {
				return
			}
			if s.ID != tt.wantID {
				t.Errorf("ParseSecret(%q).ID = %q, want %q", tt.in, s.ID, tt.wantID)
			}
			want, _ := NewBareSecret(tt.value)
			if Password(s, "1:x") != Password(want, "1:x") {
				t.Errorf("ParseSecret(%q) signs with another value than %q", tt.in, tt.value)
			}
			if strings.Contains(s.String(), tt.value) {
				t.Errorf("String() = %q leaks the value", s.String())
			}
		})
	}
	bare, _ := NewBareSecret("0123456789abcdef-bare")
	if _, err := NewMinter([]Secret{bare}, []byte("pseudonym-key-0123456789")); !errors.Is(err, ErrBadSecrets) {
		t.Errorf("NewMinter(bare secret) error = %v, want ErrBadSecrets", err)
	}
}

func FuzzParseSecret(f *testing.F) {
	f.Add("k1:0123456789abcdefXX")
	f.Add("0123456789abcdefXX")
	f.Add(":k1:0123456789abcdefXX")
	f.Add("a.b:0123456789abcdefXX")
	f.Add(":")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSecret(in)
		if err != nil {
			if len(in) >= 4 && strings.Contains(err.Error(), in) {
				t.Fatalf("ParseSecret error %q quotes its input", err)
			}
			return
		}
		if s.ID != "" && !ValidKeyID(s.ID) {
			t.Fatalf("ParseSecret(%q).ID = %q, not a valid key id", in, s.ID)
		}
		if len(s.value) < MinSecretLen || !strings.HasSuffix(in, string(s.value)) {
			t.Fatalf("ParseSecret(%q) value of %d bytes, not a suffix of the input", in, len(s.value))
		}
	})
}

func TestParseSecrets(t *testing.T) {
	tests := []struct {
		name, list string
		wantIDs    []string
		wantErr    error
	}{
		{name: "two, newest first", list: "b:0123456789abcdefXX, a:0123456789abcdefYY", wantIDs: []string{"b", "a"}},
		{name: "secret may contain colons", list: "a:0123:456789abcdef:x", wantIDs: []string{"a"}},
		{name: "empty", list: " , ", wantErr: ErrNoSecrets},
		{name: "no colon", list: "0123456789abcdef0123", wantErr: ErrBadSecrets},
		{name: "short secret", list: "a:short", wantErr: ErrBadSecrets},
		{name: "bad id", list: "a.b:0123456789abcdefXX", wantErr: ErrBadSecrets},
		{name: "empty id", list: ":0123456789abcdefXX", wantErr: ErrBadSecrets},
		{name: "duplicate id", list: "a:0123456789abcdefXX,a:0123456789abcdefYY", wantErr: ErrBadSecrets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecrets(tt.list)
			if refused(t, fmt.Sprintf("ParseSecrets(%q)", tt.list), err, tt.wantErr, "0123456789abcdef") {
				return
			}
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	secrets := mustSecrets(t, "k1:0123456789abcdef-secret")
	c := mustMinter(t, secrets).Mint("alice", time.Hour, t0)
	u, _ := ParseUsername(c.Username)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "secret", secrets[0], "cred", c, "user", u)
	out := buf.String() + fmt.Sprint(secrets, c, u) + fmt.Sprintf("%v %+v %s", c, u, secrets[0])
	for _, leak := range []string{"0123456789abcdef-secret", c.Password, c.Username, u.User} {
		if strings.Contains(out, leak) {
			t.Errorf("rendered output %q leaks %q", out, leak)
		}
	}
}

func FuzzParseUsername(f *testing.F) {
	f.Add("1764113400:k1.6q1xkAbCdEfGhIjKlMnO")
	f.Add("99999999999:x")
	f.Add("99999999999999999999:x")
	f.Add("0:a")
	f.Add("01:a")
	f.Add(":a")
	f.Add("1:")
	f.Add("1:a:b")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUsername(s)
		if err != nil {
			return
		}
		if got := u.String(); got != s { // only canonical forms parse
			t.Fatalf("ParseUsername(%q).String() = %q", s, got)
		}
		if u.Expiry < 0 {
			t.Fatalf("ParseUsername(%q).Expiry = %d < 0", s, u.Expiry)
		}
	})
}

func FuzzVerify(f *testing.F) {
	secrets := mustSecrets(f, "k2:0123456789abcdef-new,k1:0123456789abcdef-old")
	v, _ := NewVerifier(secrets)
	good := mustMinter(f, secrets).Mint("alice", time.Hour, t0)
	f.Add(good.Username, good.Password)
	f.Add("1:k9.x", "")
	f.Fuzz(func(t *testing.T, user, pwd string) {
		u, err := v.Verify(user, pwd, t0)
		if err != nil {
			return
		}
		// Anything that verifies must be unexpired and carry the HMAC of a listed secret.
		if u.Expired(t0) {
			t.Fatalf("Verify(%q) accepted an expired credential", user)
		}
		ok := false
		for _, s := range secrets {
			ok = ok || Password(s, user) == pwd
		}
		if !ok {
			t.Fatalf("Verify(%q, %q) accepted a password no secret made", user, pwd)
		}
	})
}

func BenchmarkMint(b *testing.B) {
	m := mustMinter(b, mustSecrets(b, "k1:0123456789abcdef-secret"))
	b.ReportAllocs()
	for b.Loop() {
		m.Mint("alice@example.com", time.Hour, t0)
	}
}

func BenchmarkVerify(b *testing.B) {
	secrets := mustSecrets(b, "k2:0123456789abcdef-new,k1:0123456789abcdef-old")
	v, _ := NewVerifier(secrets)
	c := mustMinter(b, secrets).Mint("alice@example.com", time.Hour, t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(c.Username, c.Password, t0); err != nil {
			b.Fatal(err)
		}
	}
}
