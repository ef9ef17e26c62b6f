package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/relaygate/relaygate/cmd/relayctl/internal/turncheck"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

var probeCmd = &command{
	name:    "probe",
	args:    "[turn-url | host[:port] ...]",
	summary: "measure relays from this machine (STUN RTT, jitter, loss) and pick primary and backup",
	help: `Measures, from this machine, the relays the gateway offers (the UDP URLs of the
primary and backup of a POST /v1/credentials answer, user token), or the
relays given as turn: URIs (UDP) or host[:port] (port 3478 by default), with
--rounds STUN Binding requests each, one every --gap. It prints per relay
address the minimum and average (smoothed) RTT, jitter and loss, then the
primary and backup it would choose by measurement: the lowest RTT, and the
lowest RTT at another site (a relay given by address is its own site).

--report sends the measurements to POST /v1/measurements, so the gateway ranks
relays by them for this network; it needs relays from the gateway (their ids).

While it measures, a progress line is drawn on stderr when stderr is a
terminal (never with --json). Exit status 1 when no relay answered.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		rounds := fs.Int("rounds", 10, "STUN requests per relay (1..1000)")
		gap := fs.Duration("gap", 200*time.Millisecond, "time between two requests to one relay")
		probeTimeout := fs.Duration("probe-timeout", time.Second, "an answer later than this counts as lost")
		report := fs.Bool("report", false, "send the measurements to the gateway (POST /v1/measurements)")
		asJSON := fs.Bool("json", false, "print the measurements as JSON")
		return func(ctx context.Context, c *cli, args []string) error {
			if *rounds < 1 || *rounds > 1000 {
				return usagef("--rounds %d out of range 1..1000", *rounds)
			}
			if *gap < 0 || *probeTimeout <= 0 {
				return usagef("--gap %v must not be negative and --probe-timeout %v must be positive", *gap, *probeTimeout)
			}
			if *report && len(args) > 0 {
				return usageError{"--report needs relays from the gateway (their relay ids); give no addresses"}
			}
			var targets []probeTarget
			var g *gatewayClient
			var err error
			if len(args) > 0 {
				if targets, err = targetsFromArgs(ctx, args); err != nil {
					return err
				}
			} else {
				if g, err = c.gatewayClient("a user token (or relay addresses as arguments)"); err != nil {
					return err
				}
				cr, _, err := g.fetchCredentials(ctx, wire.CredentialsRequest{Transports: []string{relay.UDP.String()}})
				if err != nil {
					return err
				}
				if targets = targetsFromGateway(ctx, cr); len(targets) == 0 {
					return problemError{"the gateway offered no relay with a UDP URL to probe"}
				}
			}

			pts := make([]probe.Target, len(targets))
			for i, t := range targets {
				pts[i] = probe.Target{RelayID: t.key, Addr: t.addr}
			}
			cfg := probe.Config{Timeout: *probeTimeout, Interval: max(5*time.Second, 2**probeTimeout)}
			stop := startProgress(c.stderr, !*asJSON && isTerminal(c.stderr), len(targets), *rounds, *gap)
			results, err := probe.Measure(ctx, cfg, pts, *rounds, *gap)
			stop()
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				return usagef("probe: %v", err)
			}
			byKey := map[string]probe.Result{}
			for _, r := range results {
				byKey[r.RelayID] = r
			}
			rows := make([]probeRow, len(targets))
			for i, t := range targets {
				rows[i] = probeRow{probeTarget: t, res: byKey[t.key]}
			}
			primary, backup := choose(rows)

			out := probeOutput{Relays: []probeRowJSON{}}
			for _, r := range rows {
				out.Relays = append(out.Relays, r.json())
			}
			if primary != nil {
				j := primary.json()
				out.Primary = &j
			}
			if backup != nil {
				j := backup.json()
				out.Backup = &j
			}
			if *report {
				ms := measurementsOf(rows)
				if len(ms) > 0 {
					var ans wire.MeasurementsAccepted
					if _, err := g.do(ctx, http.MethodPost, "/v1/measurements", wire.MeasurementsRequest{Measurements: ms}, &ans); err != nil {
						// Print what was measured before failing on the report.
						return errors.Join(err, printProbe(c.stdout, *asJSON, out))
					}
					out.Reported = &reportJSON{Sent: len(ms), Accepted: ans.Accepted}
				} else {
					out.Reported = &reportJSON{}
				}
			}
			if err := printProbe(c.stdout, *asJSON, out); err != nil {
				return err
			}
			if primary == nil {
				return problemError{"no relay answered"}
			}
			return nil
		}
	},
}

// probeTarget is one relay address to measure.
type probeTarget struct {
	key     string // unique per target, what probe.Measure calls the relay id
	RelayID string // the gateway's relay id; "" for addresses given as arguments
	Name    string // the relay id, or the argument as given
	Region  string
	Site    string // the relay's site; an argument is its own site
	addr    netip.AddrPort
}

func targetsFromArgs(ctx context.Context, args []string) ([]probeTarget, error) {
	var out []probeTarget
	seen := map[string]bool{}
	for _, a := range args {
		host, port := "", 0
		if strings.HasPrefix(a, "turn:") || strings.HasPrefix(a, "turns:") {
			u, err := turncheck.ParseURL(a)
			if err != nil {
				return nil, usageError{err.Error()}
			}
			if u.Transport != turncheck.UDP {
				return nil, usagef("%s: probe measures with STUN over UDP; give a UDP URI", a)
			}
			host, port = u.Host, u.Port
		} else {
			h, p, err := turncheck.SplitHostPort(a, 3478)
			if err != nil {
				return nil, usagef("%s: %v", a, err)
			}
			host, port = h, p
		}
		ip, err := lookup(ctx, host)
		if err != nil {
			return nil, usagef("%s: %v", a, err)
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, probeTarget{key: a, Name: a, Site: a, addr: netip.AddrPortFrom(ip, uint16(port))}) //nolint:gosec // G115: ParseURL and SplitHostPort bound ports to 1..65535
	}
	return out, nil
}

func targetsFromGateway(ctx context.Context, cr wire.Credentials) []probeTarget {
	var out []probeTarget
	seen := map[string]bool{}
	for _, r := range cr.Choices() {
		for _, s := range r.URLs {
			u, err := turncheck.ParseURL(s)
			if err != nil || u.Transport != turncheck.UDP {
				continue
			}
			ip, err := lookup(ctx, u.Host)
			if err != nil {
				continue
			}
			addr := netip.AddrPortFrom(ip, uint16(u.Port)) //nolint:gosec // G115: ParseURL bounds ports to 1..65535
			key := r.RelayID + "@" + addr.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, probeTarget{key: key, RelayID: r.RelayID, Name: r.RelayID, Region: r.Region, Site: r.Site, addr: addr})
		}
	}
	return out
}

// lookup resolves a host, IPv4 first; IP literals need no lookup.
func lookup(ctx context.Context, host string) (netip.Addr, error) {
	return turncheck.Lookup(ctx, host, 5*time.Second, func(ctx context.Context, h string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	})
}

type probeRow struct {
	probeTarget
	res probe.Result
}

// choose picks the primary (lowest RTT among relays that answered, then
// lowest loss) and the backup (the same, at another site).
func choose(rows []probeRow) (primary, backup *probeRow) {
	var cands []*probeRow
	for i := range rows {
		if rows[i].res.Received > 0 {
			cands = append(cands, &rows[i])
		}
	}
	slices.SortStableFunc(cands, func(a, b *probeRow) int {
		return cmp.Or(cmp.Compare(a.res.RTT, b.res.RTT), cmp.Compare(a.res.Loss, b.res.Loss), cmp.Compare(a.Name, b.Name))
	})
	if len(cands) == 0 {
		return nil, nil
	}
	primary = cands[0]
	for _, c := range cands[1:] {
		if c.Site != primary.Site {
			return primary, c
		}
	}
	return primary, nil
}

// measurementsOf is one measurement per gateway relay that answered: its
// best address.
func measurementsOf(rows []probeRow) []wire.Measurement {
	best := map[string]probe.Result{}
	var order []string
	for _, r := range rows {
		if r.RelayID == "" || r.res.Received == 0 {
			continue
		}
		b, ok := best[r.RelayID]
		if !ok {
			order = append(order, r.RelayID)
		}
		if !ok || r.res.RTT < b.RTT {
			best[r.RelayID] = r.res
		}
	}
	out := make([]wire.Measurement, 0, len(order))
	for _, id := range order {
		b := best[id]
		out = append(out, wire.NewMeasurement(relay.Measurement{RelayID: id, RTT: b.RTT, Loss: b.Loss}))
	}
	return out
}

type probeRowJSON struct {
	RelayID  string   `json:"relay_id,omitempty"`
	Name     string   `json:"name"`
	Region   string   `json:"region,omitempty"`
	Site     string   `json:"site"`
	Address  string   `json:"address"`
	Sent     int      `json:"sent"`
	Received int      `json:"received"`
	MinRTTMS *float64 `json:"min_rtt_ms,omitempty"`
	RTTMS    *float64 `json:"rtt_ms,omitempty"`
	JitterMS *float64 `json:"jitter_ms,omitempty"`
	Loss     float64  `json:"loss"`
	Health   string   `json:"health"`
}

type reportJSON struct {
	Sent     int `json:"sent"`
	Accepted int `json:"accepted"`
}

type probeOutput struct {
	Relays   []probeRowJSON `json:"relays"`
	Primary  *probeRowJSON  `json:"primary,omitempty"`
	Backup   *probeRowJSON  `json:"backup,omitempty"`
	Reported *reportJSON    `json:"reported,omitempty"`
}

func (r probeRow) json() probeRowJSON {
	j := probeRowJSON{RelayID: r.RelayID, Name: r.Name, Region: r.Region, Site: r.Site, Address: r.addr.String(),
		Sent: r.res.Sent, Received: r.res.Received, Loss: r.res.Loss, Health: string(r.res.Health)}
	if r.res.Received > 0 {
		mn, avg, jit := durMS(r.res.MinRTT), durMS(r.res.RTT), durMS(r.res.Jitter)
		j.MinRTTMS, j.RTTMS, j.JitterMS = &mn, &avg, &jit
	}
	if j.Health == "" {
		j.Health = string(probe.HealthDown)
	}
	return j
}

func printProbe(w io.Writer, asJSON bool, out probeOutput) error {
	if asJSON {
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELAY\tSITE\tADDRESS\tRTT MIN\tRTT AVG\tJITTER\tLOSS\tANSWERED\tHEALTH")
	f := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return turncheck.Millis(time.Duration(*v * float64(time.Millisecond)))
	}
	for _, r := range out.Relays {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", r.Name, r.Site, r.Address,
			f(r.MinRTTMS), f(r.RTTMS), f(r.JitterMS), percent(r.Loss), r.Received, r.Sent, r.Health)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	choice := func(label string, r *probeRowJSON, none string) {
		if r == nil {
			fmt.Fprintf(w, "%s %s\n", label, none)
			return
		}
		fmt.Fprintf(w, "%s %s (site %s) at %s: RTT %s, loss %s\n", label, r.Name, r.Site, r.Address, f(r.RTTMS), percent(r.Loss))
	}
	choice("primary:", out.Primary, "none (no relay answered)")
	choice("backup: ", out.Backup, "none (no relay at another site answered)")
	if out.Reported != nil {
		if out.Reported.Sent == 0 {
			fmt.Fprintln(w, "reported: nothing (no relay answered)")
		} else {
			fmt.Fprintf(w, "reported: %d measurements to the gateway, %d accepted\n", out.Reported.Sent, out.Reported.Accepted)
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal (progress display is drawn
// only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// startProgress draws "⠋ probing 3 relays: round 4/10" on w every 100ms
// until stop is called, which erases the line. The round is estimated from
// the time elapsed; probe.Measure sends one round per gap.
func startProgress(w io.Writer, enabled bool, relays, rounds int, gap time.Duration) (stop func()) {
	if !enabled {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			round := rounds
			if gap > 0 {
				round = min(rounds, int(time.Since(start)/gap)+1)
			}
			fmt.Fprintf(w, "\r%s probing %d relay address(es): round %d/%d ", spinner[i%len(spinner)], relays, round, rounds)
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
