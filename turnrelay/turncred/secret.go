package turncred

import (
	"fmt"
	"log/slog"
	"strings"
)

// MinSecretLen is the shortest secret accepted. HMAC-SHA1 keys shorter than
// this are guessable offline from one captured credential.
const MinSecretLen = 16

// maxKeyIDLen bounds key ids: they travel in every username.
const maxKeyIDLen = 16

// Secret is one shared TURN REST secret and the id that names it. It renders
// as its id only, so it can be logged or wrapped in errors safely.
type Secret struct {
	ID    string
	value []byte
}

// NewSecret checks id and value and returns the secret.
func NewSecret(id, value string) (Secret, error) {
	if !ValidKeyID(id) {
		return Secret{}, fmt.Errorf("%w: key id %q must be 1-%d letters, digits, '_' or '-'", ErrBadSecrets, id, maxKeyIDLen)
	}
	if len(value) < MinSecretLen {
		return Secret{}, fmt.Errorf("%w: secret %q is shorter than %d bytes", ErrBadSecrets, id, MinSecretLen)
	}
	return Secret{ID: id, value: []byte(value)}, nil
}

// NewBareSecret checks value and returns a secret with no id, like coturn's
// static-auth-secret. It signs un-keyed usernames ("<expiry>:<user>"),
// which relays check against every secret they hold; a Minter needs a
// secret with an id.
func NewBareSecret(value string) (Secret, error) {
	if len(value) < MinSecretLen {
		return Secret{}, fmt.Errorf("%w: secret is shorter than %d bytes", ErrBadSecrets, MinSecretLen)
	}
	return Secret{value: []byte(value)}, nil
}

// ParseSecret parses one secret as relayctl check --secret takes it:
// "id:secret" when the part before the first ':' is a valid key id (1-16
// letters, digits, '_' or '-'), else a bare secret with no id (coturn's
// static-auth-secret). A leading ':' forces a bare secret, for one that
// itself looks like "id:secret".
func ParseSecret(s string) (Secret, error) {
	if bare, ok := strings.CutPrefix(s, ":"); ok {
		return NewBareSecret(bare)
	}
	if id, value, ok := strings.Cut(s, ":"); ok && ValidKeyID(id) {
		return NewSecret(id, value)
	}
	return NewBareSecret(s)
}

// String renders the id and hides the value.
func (s Secret) String() string {
	if s.ID == "" {
		return "[redacted]"
	}
	return s.ID + ":[redacted]"
}

// LogValue renders the id and hides the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// ParseSecrets parses "id:secret,id:secret", newest first, as the
// --turn-secrets and --secrets flags take it. Ids must be unique. Surrounding
// spaces around entries are ignored; an empty list is an error.
func ParseSecrets(list string) ([]Secret, error) {
	var out []Secret
	seen := map[string]bool{}
	for i, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, value, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d is not id:secret", ErrBadSecrets, i+1)
		}
		s, err := NewSecret(id, value)
		if err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: key id %q appears twice", ErrBadSecrets, id)
		}
		seen[id] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, ErrNoSecrets
	}
	return out, nil
}

// ValidKeyID reports whether id may name a secret: 1-16 letters, digits,
// '_' or '-'. Usernames carry it before the first '.' of their user part.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
