package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

var credentialsCmd = &command{
	name:    "credentials",
	summary: "get TURN credentials and the chosen relays from the gateway",
	help: `Calls POST /v1/credentials with a user token and prints the answer: the TURN
username and credential, when they expire, and the primary and backup relays
with their URLs. --allow-countries and --exclude-countries narrow the
gateway's jurisdiction policy for this request (409 when no relay is left).
--rtc prints only the RTCConfiguration, ready to paste into
a web app:

  new RTCPeerConnection({"iceServers": [...], "iceTransportPolicy": "relay"})`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		ttl := fs.Duration("ttl", 0, "lifetime of the credentials, 60s..48h (the gateway's default when 0)")
		transports := fs.String("transport", "", "transports the client can use, comma-separated: udp,tcp,tls (all when empty)")
		allow := fs.String("allow-countries", "", "only relays in these countries, ISO 3166-1 alpha-2 codes comma-separated, e.g. DE,FR (narrows the gateway's policy)")
		exclude := fs.String("exclude-countries", "", "no relay in these countries, e.g. US,GB (narrows the gateway's policy)")
		rtc := fs.Bool("rtc", false, "print only {iceServers, iceTransportPolicy} for RTCPeerConnection")
		asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("credentials takes no arguments, got %q", args)
			}
			req, err := credentialsBody(*ttl, *transports)
			if err != nil {
				return err
			}
			if req.AllowedCountries, err = countryList("--allow-countries", *allow); err != nil {
				return err
			}
			if req.ExcludeCountries, err = countryList("--exclude-countries", *exclude); err != nil {
				return err
			}
			g, err := c.gatewayClient("a user token")
			if err != nil {
				return err
			}
			cr, raw, err := g.fetchCredentials(ctx, req)
			if err != nil {
				return err
			}
			switch {
			case *rtc:
				return writeJSON(c.stdout, rtcConfiguration{ICEServers: cr.ICEServers, ICETransportPolicy: cr.ICETransportPolicy})
			case *asJSON:
				return writeRawJSON(c.stdout, raw)
			}
			printCredentials(c.stdout, cr, time.Now())
			return nil
		}
	},
}

// rtcConfiguration is the W3C RTCConfiguration subset a web app needs.
type rtcConfiguration struct {
	ICEServers         []wire.ICEServer `json:"iceServers"`
	ICETransportPolicy string           `json:"iceTransportPolicy"`
}

// credentialsBody checks --ttl and --transport and builds the request.
func credentialsBody(ttl time.Duration, transports string) (wire.CredentialsRequest, error) {
	var req wire.CredentialsRequest
	if ttl != 0 {
		if ttl < wire.MinCredentialTTL || ttl > wire.MaxCredentialTTL {
			return req, usagef("--ttl %v out of range %v..%v", ttl, wire.MinCredentialTTL, wire.MaxCredentialTTL)
		}
		secs := int64((ttl + time.Second - 1) / time.Second)
		req.TTLSeconds = &secs
	}
	ts, err := parseTransports(transports)
	if err != nil {
		return req, err
	}
	req.Transports = ts
	return req, nil
}

// countryList reads a comma-separated flag of country codes; nil when
// empty.
func countryList(name, list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	if out == nil {
		return nil, nil
	}
	if f := wire.CheckCountries(out); f != "" {
		return nil, usagef("%s %q: %s", name, list, f)
	}
	return out, nil
}

func parseTransports(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(list, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if _, ok := relay.ParseTransport(t); !ok {
			return nil, usagef("--transport %q: want udp, tcp or tls", t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

func printCredentials(w io.Writer, cr wire.Credentials, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "username\t%s\n", cr.Username)
	fmt.Fprintf(tw, "credential\t%s\n", cr.Credential)
	fmt.Fprintf(tw, "expires\t%s (in %s)\n", cr.ExpiresAt.UTC().Format(time.RFC3339), cr.ExpiresAt.Sub(now).Round(time.Second))
	fmt.Fprintf(tw, "ice transport policy\t%s\n", cr.ICETransportPolicy)
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tRELAY\tREGION\tSITE\tCOUNTRY\tEST. RTT\tBASIS\tURLS")
	for i, r := range cr.Choices() {
		role := "primary"
		if i == 1 {
			role = "backup"
		}
		est := "-"
		if r.EstimatedRTTMs != nil {
			est = fmt.Sprintf("%.1f ms", *r.EstimatedRTTMs)
		}
		for j, u := range r.URLs {
			if j == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", role, r.RelayID, r.Region, r.Site, cmp.Or(r.Country.String(), "-"), est, r.Basis, u)
			} else {
				fmt.Fprintf(tw, "\t\t\t\t\t\t\t%s\n", u)
			}
		}
	}
	_ = tw.Flush()
}

// writeJSON prints v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeRawJSON prints a JSON answer indented, every member kept.
func writeRawJSON(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func durMS(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
