package wire

import (
	"regexp"
	"strings"

	"github.com/relaygate/relaygate/relay"
)

// slugRE is openapi.yaml's Slug, what relay ids, regions and sites look
// like: short, lowercase, safe in URLs, logs and metric-free labels.
var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s is a Slug of the spec: 1 to 63 lowercase
// letters, digits or '-', starting with a letter or digit. Relay ids
// (RelayID), regions and sites are slugs.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// validHostname reports whether h is a DNS name (RFC 1123): labels of 1 to
// 63 letters, digits and '-', not starting or ending with '-', 253
// characters at most. One trailing dot is tolerated (Heartbeat.Relay drops
// it).
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !hostnameByte(c) {
				return false
			}
		}
	}
	return true
}

// hostnameByte reports whether c may stand in a hostname's label.
func hostnameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// transportNames lists relay's transports for messages: "udp, tcp, tls".
var transportNames = func() string {
	var names []string
	for _, t := range relay.Transports() {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}()

// truncate cuts a client-chosen name that a message repeats to n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
