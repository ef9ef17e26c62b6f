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
