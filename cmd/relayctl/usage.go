package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/relaygate/relaygate/wire"
)

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
