package turncred

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// maxUserLen bounds the part after the colon. TURN's USERNAME attribute may
// carry 513 bytes; ours are ~40. The bound keeps hostile input cheap.
const maxUserLen = 256

// maxExpiryDigits allows any unix time up to year 5138 and keeps
// strconv.ParseInt far from overflow.
const maxExpiryDigits = 11

// Username is a parsed TURN REST username "<unix expiry>:<user>". For
// usernames relaygate mints, user is "<key id>.<pseudonym>".
type Username struct {
	Expiry int64  // unix seconds after which the credential is refused
	User   string // everything after the first colon
}

// ParseUsername parses the canonical form: a decimal unix time without
// leading zeros, a colon, and 1-256 bytes of printable ASCII other than ':'.
func ParseUsername(s string) (Username, error) {
	exp, user, ok := strings.Cut(s, ":")
	if !ok || exp == "" || len(exp) > maxExpiryDigits || (len(exp) > 1 && exp[0] == '0') {
		return Username{}, ErrMalformed
	}
	for _, c := range []byte(exp) {
		if c < '0' || c > '9' {
			return Username{}, ErrMalformed
		}
	}
	if user == "" || len(user) > maxUserLen {
		return Username{}, ErrMalformed
	}
	for _, c := range []byte(user) {
		if c <= ' ' || c > '~' || c == ':' {
			return Username{}, ErrMalformed
		}
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return Username{}, ErrMalformed
	}
	return Username{Expiry: n, User: user}, nil
}

// String is the username's wire form.
func (u Username) String() string {
	var buf [maxExpiryDigits + 1 + 64]byte
	return string(append(appendExpiry(buf[:0], u.Expiry), u.User...))
}

// appendExpiry appends a username's "<unix expiry>:" to dst; what follows
// is the user part. Mint writes usernames through it too.
func appendExpiry(dst []byte, expiry int64) []byte {
	return append(strconv.AppendInt(dst, expiry, 10), ':')
}

// LogValue keeps usernames out of logs: they identify a user for a day.
func (u Username) LogValue() slog.Value { return slog.StringValue("[turn-username]") }

// Format hides the username from %v and %s too; use String for the wire.
func (u Username) Format(f fmt.State, verb rune) { fmt.Fprint(f, "[turn-username]") }

// Expires is the expiry as a time.
func (u Username) Expires() time.Time { return time.Unix(u.Expiry, 0) }

// Expired reports whether the credential is past its expiry at now.
func (u Username) Expired(now time.Time) bool { return now.Unix() >= u.Expiry }

// KeyID is the part of User before its first '.', the secret's id in
// usernames relaygate mints; "" when there is no dot.
func (u Username) KeyID() string {
	id, _, ok := strings.Cut(u.User, ".")
	if !ok {
		return ""
	}
	return id
}

// Pseudonym is the stable per-user part of User, what relays count quotas
// on: User without a leading "<key id>." that names a secret in secrets
// (so a user keeps one pseudonym across a secret rotation), else User.
func (u Username) Pseudonym(secrets []Secret) string {
	if id := u.KeyID(); id != "" && findSecret(secrets, id) >= 0 {
		return u.User[len(id)+1:]
	}
	return u.User
}

func findSecret(secrets []Secret, id string) int {
	for i := range secrets {
		if secrets[i].ID == id {
			return i
		}
	}
	return -1
}
