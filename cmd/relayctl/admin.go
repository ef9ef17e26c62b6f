package main

// The commands of the gateway's admin API (an admin token): the registry
// (relays, drain, undrain), revocations (revoke, revocations) and usage.

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/relaygate/relaygate/cmd/relayctl/internal/turncheck"
	"github.com/relaygate/relaygate/wire"
)

var relaysCmd = &command{
	name:    "relays",
	summary: "list the registry: country, state, probe health, RTT, loss, load, heartbeat age (admin token)",
	help: `Calls GET /v1/relays with an admin token and prints one line per relay: id,
region, site, country (ISO 3166-1 alpha-2, "-" when unknown), state (available, degraded, full, draining, drained, down), the
gateway's probe health, RTT and loss, load (allocations/capacity, "-" when the
relay declares no limit) and the age of its last heartbeat.`,
	setup: adminList("relays", "/v1/relays", func(w io.Writer, l wire.RelayList) { printRelays(w, l.Relays) }),
}

// adminList is the setup of a command that takes no arguments, GETs path
// with an admin token and prints the answer with show, or as the
// gateway's JSON with --json.
func adminList[T any](name, path string, show func(io.Writer, T)) func(*flag.FlagSet) func(context.Context, *cli, []string) error {
	return func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("%s takes no arguments, got %q", name, args)
			}
			g, err := c.gatewayClient("an admin token")
			if err != nil {
				return err
			}
			var v T
			raw, err := g.do(ctx, http.MethodGet, path, nil, &v)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeRawJSON(c.stdout, raw)
			}
			show(c.stdout, v)
			return nil
		}
	}
}

func printRelays(w io.Writer, relays []wire.RelayStatus) {
	if len(relays) == 0 {
		fmt.Fprintln(w, "no relays in the registry")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREGION\tSITE\tCOUNTRY\tSTATE\tHEALTH\tRTT\tLOSS\tLOAD\tHEARTBEAT")
	for _, r := range relays {
		health, rtt, loss := "-", "-", "-"
		if p := r.Probe; p != nil { // the gateway states every figure of a probe
			if p.Health != "" {
				health = string(p.Health)
			}
			rtt = turncheck.Millis(time.Duration(p.RTTMs * float64(time.Millisecond)))
			loss = percent(p.Loss)
		}
		capacity := "-"
		if r.Capacity.Allocations > 0 {
			capacity = fmt.Sprint(r.Capacity.Allocations)
		}
		age := time.Duration(r.HeartbeatAgeSeconds * float64(time.Second)).Round(100 * time.Millisecond)
		country := cmp.Or(r.Country.String(), "-")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%s\t%s ago\n",
			r.ID, r.Region, r.Site, country, r.State, health, rtt, loss, r.Load.Allocations, capacity, age)
	}
	_ = tw.Flush()
}

var drainCmd = &command{
	name:    "drain",
	args:    "<relay-id>",
	summary: "mark a relay drained: no new selections, calls on it continue (admin token)",
	help: `Calls POST /v1/relays/{id}/drain with an admin token. The relay is no longer
selected for new calls; calls already on it continue. The mark lasts until
'relayctl undrain' or until the relay vanishes from the registry.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		asJSON := fs.Bool("json", false, "print the relay as the gateway answers it, as JSON")
		return func(ctx context.Context, c *cli, args []string) error { return setDrain(ctx, c, args, true, *asJSON) }
	},
}

var undrainCmd = &command{
	name:    "undrain",
	args:    "<relay-id>",
	summary: "clear the drain mark of a relay (admin token)",
	help: `Calls DELETE /v1/relays/{id}/drain with an admin token: the relay may be
selected again, unless it is draining itself, full or down.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		asJSON := fs.Bool("json", false, "print the relay as the gateway answers it, as JSON")
		return func(ctx context.Context, c *cli, args []string) error { return setDrain(ctx, c, args, false, *asJSON) }
	},
}

func setDrain(ctx context.Context, c *cli, args []string, drain, asJSON bool) error {
	name := map[bool]string{true: "drain", false: "undrain"}[drain]
	if len(args) != 1 {
		return usagef("%s takes one relay id, got %d arguments", name, len(args))
	}
	id := args[0]
	if !wire.ValidSlug(id) {
		return usagef("%s: relay id %q: want lowercase letters, digits and '-', 1 to 63 characters", name, id)
	}
	g, err := c.gatewayClient("an admin token")
	if err != nil {
		return err
	}
	method := http.MethodPost
	if !drain {
		method = http.MethodDelete
	}
	var st wire.RelayStatus
	raw, err := g.do(ctx, method, "/v1/relays/"+url.PathEscape(id)+"/drain", nil, &st)
	if err != nil {
		return err
	}
	if asJSON {
		return writeRawJSON(c.stdout, raw)
	}
	mark := "drained"
	if !st.Drained {
		mark = "not drained"
	}
	fmt.Fprintf(c.stdout, "%s: %s (state %s)\n", st.ID, mark, st.State)
	return nil
}

var revokeCmd = &command{
	name:    "revoke",
	args:    "<subject>",
	summary: "revoke a user token's subject fleet-wide: no credentials, live calls cut (admin token)",
	help: `Calls POST /v1/revocations with an admin token: the gateway refuses credentials
for <subject> (the sub of its user tokens) until the revocation lapses, and
relays end the subject's calls within one heartbeat interval. Revoking again
replaces the time. With --lift, calls DELETE /v1/revocations?subject=... to
lift it instead.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		forD := fs.Duration("for", 24*time.Hour, "how long the revocation lasts")
		until := fs.String("until", "", "when the revocation lapses, RFC 3339 (overrides --for)")
		lift := fs.Bool("lift", false, "lift the subject's revocation instead")
		asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usagef("revoke takes one subject, got %d arguments", len(args))
			}
			subject := args[0]
			if msg := wire.CheckSubject(subject); msg != "" {
				return usagef("revoke: subject: %s", msg)
			}
			g, err := c.gatewayClient("an admin token")
			if err != nil {
				return err
			}
			if *lift {
				if _, err := g.do(ctx, http.MethodDelete, "/v1/revocations?subject="+url.QueryEscape(subject), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "lifted the revocation of %s\n", subject)
				return nil
			}
			t := time.Now().Add(*forD)
			if *until != "" {
				if t, err = time.Parse(time.RFC3339, *until); err != nil {
					return usagef("revoke: --until: want an RFC 3339 time such as 2026-12-31T23:59:00Z")
				}
			} else if *forD <= 0 {
				return usagef("revoke: --for must be positive")
			}
			var rev wire.Revocation
			raw, err := g.do(ctx, http.MethodPost, "/v1/revocations", wire.RevocationRequest{Subject: subject, Until: t.UTC()}, &rev)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeRawJSON(c.stdout, raw)
			}
			fmt.Fprintf(c.stdout, "revoked %s until %s\n", rev.Subject, rev.Until.Format(time.RFC3339))
			return nil
		}
	},
}

var revocationsCmd = &command{
	name:    "revocations",
	summary: "list the revoked subjects and when each revocation lapses (admin token)",
	help: `Calls GET /v1/revocations with an admin token and prints one line per revoked
subject: the subject, when its revocation lapses and when it was made.`,
	setup: adminList("revocations", "/v1/revocations", func(w io.Writer, l wire.RevocationList) { printRevocations(w, l.Revocations) }),
}

func printRevocations(w io.Writer, revs []wire.Revocation) {
	if len(revs) == 0 {
		fmt.Fprintln(w, "no subject is revoked")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tUNTIL\tREVOKED")
	for _, r := range revs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Subject, r.Until.Format(time.RFC3339), r.RevokedAt.Format(time.RFC3339))
	}
	_ = tw.Flush()
}

var usageCmd = &command{
	name:    "usage",
	args:    "(--subject <sub> | --relays)",
	summary: "bytes relayed and allocation time of one user per hour, or of every relay (admin token)",
	help: `With --subject, calls GET /v1/usage with an admin token and prints what the
relays carried for that token subject, per hour and in total: payload bytes to
and from its peers and allocation-seconds. With --relays, calls GET
/v1/usage/relays and prints each relay's totals. The period is --from to --to
(RFC 3339, whole hours; the last 24 hours by default, at most 35 days); relays
report within one heartbeat interval. Usage is kept 35 days.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		subject := fs.String("subject", "", "the user token's sub whose usage to show")
		relays := fs.Bool("relays", false, "show each relay's totals instead of one user's")
		from := fs.String("from", "", "start of the period, RFC 3339 (default: 24 hours before --to)")
		to := fs.String("to", "", "end of the period, RFC 3339 (default: now)")
		asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("usage takes no arguments, got %q", args)
			}
			if (*subject == "") == !*relays {
				return usagef("usage needs --subject <sub> or --relays, not both")
			}
			q, err := usagePeriod(*from, *to, time.Now())
			if err != nil {
				return err
			}
			g, err := c.gatewayClient("an admin token")
			if err != nil {
				return err
			}
			if *relays {
				var list wire.RelayUsageList
				raw, err := g.do(ctx, http.MethodGet, "/v1/usage/relays?"+q.Encode(), nil, &list)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeRawJSON(c.stdout, raw)
				}
				printRelayUsage(c.stdout, list)
				return nil
			}
			q.Set("subject", *subject)
			var u wire.Usage
			raw, err := g.do(ctx, http.MethodGet, "/v1/usage?"+q.Encode(), nil, &u)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeRawJSON(c.stdout, raw)
			}
			printUsage(c.stdout, u)
			return nil
		}
	},
}

// usagePeriod is the from and to query parameters: as given, checked as
// the gateway will, with the defaults filled in at now.
func usagePeriod(from, to string, now time.Time) (url.Values, error) {
	if to == "" {
		to = now.UTC().Format(time.RFC3339)
	}
	if from == "" {
		t, err := time.Parse(time.RFC3339, to)
		if err != nil {
			return nil, usagef("--to %q: want an RFC 3339 time, e.g. 2026-12-01T00:00:00Z", to)
		}
		from = t.Add(-24 * time.Hour).Format(time.RFC3339)
	}
	if _, _, fe := wire.ParseUsageRange(from, to); len(fe) > 0 {
		return nil, usagef("--%s: %s", fe[0].Field, fe[0].Message)
	}
	return url.Values{"from": {from}, "to": {to}}, nil
}

func printUsage(w io.Writer, u wire.Usage) {
	fmt.Fprintf(w, "%s, %s to %s\n", u.Subject, u.From.Format(time.RFC3339), u.To.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "HOUR\tTO PEER\tFROM PEER\tALLOCATION\t")
	for _, h := range u.Hours {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", h.Start.Format(time.RFC3339), bytesText(h.Usage.BytesToPeer), bytesText(h.Usage.BytesFromPeer), secondsText(h.Usage.AllocationSeconds))
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t%s\t\n", bytesText(u.Total.BytesToPeer), bytesText(u.Total.BytesFromPeer), secondsText(u.Total.AllocationSeconds))
	_ = tw.Flush()
}

func printRelayUsage(w io.Writer, l wire.RelayUsageList) {
	fmt.Fprintf(w, "relays, %s to %s\n", l.From.Format(time.RFC3339), l.To.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RELAY\tTO PEER\tFROM PEER\tALLOCATION\t")
	for _, r := range l.Relays {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.RelayID, bytesText(r.Usage.BytesToPeer), bytesText(r.Usage.BytesFromPeer), secondsText(r.Usage.AllocationSeconds))
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t%s\t\n", bytesText(l.Total.BytesToPeer), bytesText(l.Total.BytesFromPeer), secondsText(l.Total.AllocationSeconds))
	_ = tw.Flush()
}

// bytesText is n bytes exactly, as billing needs them.
func bytesText(n uint64) string { return fmt.Sprintf("%d B", n) }

// secondsText is allocation time in seconds to the millisecond.
func secondsText(s float64) string { return fmt.Sprintf("%.3f s", s) }
