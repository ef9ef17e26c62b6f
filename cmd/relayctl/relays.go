package main

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
