package gateway_test

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme under test
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/store/storetest"
)

// TestMint: the credential is the TURN REST scheme's, checkable without our
// code, and its username carries a pseudonym, not the subject.
func TestMint(t *testing.T) {
	gw := newFixture(t).gw
	c := gw.Mint("alice", 10*time.Minute, storetest.T0)
	expires := storetest.T0.Add(10 * time.Minute).Truncate(time.Second).Add(time.Second) // rounded up
	if !c.Expires.Equal(expires) {
		t.Errorf("Expires = %v, want %v", c.Expires, expires)
	}
	if !strings.HasPrefix(c.Username, fmt.Sprint(expires.Unix())+":k1.") || strings.Contains(c.Username, "alice") {
		t.Errorf("Username = %q, want <expiry>:k1.<pseudonym> without the subject", c.Username)
	}
	mac := hmac.New(sha1.New, []byte(turnSecret))
	mac.Write([]byte(c.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); c.Password != want {
		t.Errorf("Password = %q, want HMAC-SHA1 %q", c.Password, want)
	}
}
