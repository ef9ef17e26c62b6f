package api

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/client"
	"github.com/relaygate/relaygate/wire"
)

// DemoTokenTTL is the lifetime of a token GET /demo/token mints: long
// enough to set up a call and fetch credentials, short enough that a copy
// left in a browser is soon worthless. The page fetches a new one as it
// nears expiry.
const DemoTokenTTL = 10 * time.Minute

// demoCSP keeps the demo page to its own origin: its module, style sheet
// and relaygate.js come from the gateway, and it calls only the gateway.
// No inline script or style, no frames, no forms, no plugins.
const demoCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var (
	demoHTML = newAsset(client.DemoHTML, "text/html; charset=utf-8")
	demoJS   = newAsset(client.DemoJS, "text/javascript; charset=utf-8")
	demoCSS  = newAsset(client.DemoCSS, "text/css; charset=utf-8")
)

// demoAsset serves one file of the demo page under demoCSP.
type demoAsset struct{ asset }

// ServeHTTP answers like asset, with the page's security headers.
func (a demoAsset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", demoCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	a.asset.ServeHTTP(w, r)
}

// getDemoToken mints a user token for a random subject, signed with the
// user HS256 secret (Config.Demo requires one), honouring the configured
// issuer and audience so the gateway accepts it. Only registered with
// Config.Demo, which cmd/relaygate allows only on a loopback listener; and
// only answered when the request names a loopback host, so a web page
// that rebinds its DNS name to 127.0.0.1 cannot have one minted.
func (s *server) getDemoToken(w http.ResponseWriter, r *http.Request) {
	if !loopbackHost(r.Host) {
		writeProblem(w, r, &httpError{status: http.StatusNotFound, typ: "not-found",
			detail: "demo tokens are minted only for requests to a loopback host (localhost, 127.0.0.1, [::1])"})
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	now := s.now()
	exp := now.Add(DemoTokenTTL)
	c := jwt.RegisteredClaims{
		Subject:   "demo-" + hex.EncodeToString(b[:]),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		Issuer:    s.cfg.User.Issuer,
	}
	if s.cfg.User.Audience != "" {
		c.Audience = jwt.ClaimStrings{s.cfg.User.Audience}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.cfg.User.Secret)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, wire.DemoToken{Token: tok, ExpiresAt: time.Unix(exp.Unix(), 0).UTC()})
}

// loopbackHost reports whether a Host header names this machine by a
// loopback address or "localhost".
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		// "[::1]" without a port
		if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
			a, err = netip.ParseAddr(host[1 : len(host)-1])
		}
		if err != nil {
			return false
		}
	}
	return a.Unmap().IsLoopback()
}
