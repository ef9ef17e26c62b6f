package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/relaygate/relaygate/cmd/relayctl/internal/turncheck"
	"github.com/relaygate/relaygate/turnrelay/turncred"
	"github.com/relaygate/relaygate/wire"
)

// maxParallelChecks bounds the TURN checks run at once.
const maxParallelChecks = 8

var checkCmd = &command{
	name:    "check",
	args:    "[turn-url ...]",
	summary: "check TURN servers end to end: connect, allocate, permission, packets through the relay",
	help: `For each TURN URI (turn:host:port?transport=udp|tcp, turns:host:port?transport=tcp)
relayctl connects over UDP, TCP or TLS, allocates a relayed address with real
credentials, creates a permission for that relayed address and sends --count
packets to it through the relay, which hands them back. It reports the
allocation time, RTT, jitter and loss, and one plain diagnosis per URI, e.g.
"no answer to Allocate within 3s: UDP is blocked on this network",
"credentials refused: expired", "port closed (connection refused)".

Credentials come from the gateway (POST /v1/credentials, user token) unless
--secret is given: then they are minted here from the relay's TURN REST
secret. As id:secret (as in relaynode --secrets) the username names the key
id, "<expiry>:<id>.<user>", as the gateway's do; as a bare secret (coturn's
static-auth-secret, no id) it is un-keyed, "<expiry>:<user>", as coturn's
tools and most app backends mint it, which relaynode and coturn check
against every secret they hold. A value whose part before the first ':' is
a valid key id is read as id:secret; a leading ':' forces a bare secret.
With no URI, the URIs of the primary and backup relays the gateway offers
are checked.

The packets travel relay to relay: the relay must accept its own relayed
address as a peer. relaynode does for public addresses; for a relay on a
private network or loopback, open it with relaynode --allow-peers.

Exit status 1 when no URI works (with --strict: when any fails).`,
	scoped: map[string]bool{"secret": true},
	setup: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
		secret := fs.String("secret", "", "TURN REST secret to mint credentials locally instead of asking the gateway: id:secret (keyed usernames) or a bare secret (un-keyed, as coturn's tools)")
		user := fs.String("user", "relayctl", "user part of locally minted usernames (with --secret)")
		ttl := fs.Duration("ttl", 10*time.Minute, "lifetime of the credentials; with --secret it may be negative, to see a relay refuse an expired credential")
		count := fs.Int("count", 10, "packets to send through each relay (1..1000)")
		interval := fs.Duration("interval", 20*time.Millisecond, "time between packets")
		turnTimeout := fs.Duration("turn-timeout", 3*time.Second, "wait for TCP connect, TLS handshake, each TURN answer and the last packet")
		insecure := fs.Bool("insecure-skip-verify", false, "do not verify the TLS certificate of turns: servers")
		caFile := fs.String("ca-file", "", "PEM file of CA certificates that sign turns: servers' certificates (default: the system's)")
		asJSON := fs.Bool("json", false, "print the results as JSON")
		strict := fs.Bool("strict", false, "exit 1 when any URI fails, not only when all do")
		return func(ctx context.Context, c *cli, args []string) error {
			var urls []turncheck.URL
			for _, a := range args {
				u, err := turncheck.ParseURL(a)
				if err != nil {
					return usageError{err.Error()}
				}
				urls = append(urls, u)
			}
			cfg := turncheck.Config{Count: *count, Interval: *interval, Timeout: *turnTimeout}
			if *count < 1 || *turnTimeout <= 0 {
				return usagef("--count %d and --turn-timeout %v must be positive", *count, *turnTimeout)
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err.Error()}
			}
			tc, err := tlsConfig(*caFile, *insecure)
			if err != nil {
				return err
			}
			cfg.TLS = tc

			if *secret != "" {
				if len(urls) == 0 {
					return usageError{"check --secret needs the TURN URIs to check (there is no gateway to ask)"}
				}
				if cfg.Username, cfg.Password, err = mintTURN(*secret, *user, *ttl, time.Now()); err != nil {
					return err
				}
			} else {
				if *ttl < wire.MinCredentialTTL || *ttl > wire.MaxCredentialTTL {
					return usagef("--ttl %v out of range %v..%v for credentials from the gateway", *ttl, wire.MinCredentialTTL, wire.MaxCredentialTTL)
				}
				g, err := c.gatewayClient("a user token (or --secret)")
				if err != nil {
					return err
				}
				// Any relay will do: credentials are valid on every relay that
				// shares the gateway's secret, whichever it picks.
				secs := int64(*ttl / time.Second)
				cr, _, err := g.fetchCredentials(ctx, wire.CredentialsRequest{TTLSeconds: &secs})
				if err != nil {
					return err
				}
				cfg.Username, cfg.Password = cr.Username, cr.Credential
				if len(urls) == 0 {
					for _, r := range cr.Choices() {
						for _, s := range r.URLs {
							u, err := turncheck.ParseURL(s)
							if err != nil {
								fmt.Fprintf(c.stderr, "relayctl: skipping %s offered by the gateway: %v\n", s, err)
								continue
							}
							urls = append(urls, u)
						}
					}
				}
			}
			if len(urls) == 0 {
				return problemError{"no TURN URI to check"}
			}

			results := make([]turncheck.Result, len(urls))
			var wg sync.WaitGroup
			sem := make(chan struct{}, maxParallelChecks)
			for i, u := range urls {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					results[i] = turncheck.Check(ctx, cfg, u)
				})
			}
			wg.Wait()
			if ctx.Err() != nil {
				return ctx.Err()
			}

			works, failed := 0, 0
			for _, r := range results {
				if r.OK {
					works++
				} else {
					failed++
				}
			}
			if *asJSON {
				if err := writeJSON(c.stdout, checkJSON(results, works > 0)); err != nil {
					return err
				}
			} else {
				printCheck(c.stdout, results)
			}
			switch {
			case works == 0:
				return problemError{"nothing works"}
			case *strict && failed > 0:
				return problemError{fmt.Sprintf("%d of %d failed", failed, len(results))}
			}
			return nil
		}
	},
}

// mintTURN makes TURN REST credentials from --secret. With id:secret it
// mints as the gateway does: the username names the secret's id, so a
// relay holding several secrets goes straight to that one, and user stands
// in for the pseudonym. With a bare secret (coturn's static-auth-secret) it
// mints the un-keyed "<expiry>:<user>" of coturn's tools, which relaynode,
// like coturn, checks against every secret it holds.
func mintTURN(secretFlag, user string, ttl time.Duration, now time.Time) (string, string, error) {
	s, err := turncred.ParseSecret(secretFlag)
	if err != nil {
		// ParseSecret's errors name ids, never values.
		return "", "", usagef("--secret: %v", err)
	}
	if user == "" || strings.ContainsAny(user, ": \t") {
		return "", "", usagef("--user %q: want a non-empty name without ':' or spaces", user)
	}
	exp := now.Add(ttl).Unix()
	if ttl > 0 && now.Add(ttl).After(time.Unix(exp, 0)) {
		exp++ // round up to a whole second
	}
	u := turncred.Username{Expiry: exp, User: user}
	if s.ID != "" {
		u.User = s.ID + "." + user
	}
	name := u.String()
	if _, err := turncred.ParseUsername(name); err != nil {
		return "", "", usagef("--user %q or --ttl %v make an invalid username", user, ttl)
	}
	return name, turncred.Password(s, name), nil
}

func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // an explicit flag, for testing relays with self-signed certificates
	if caFile != "" {
		pem, err := os.ReadFile(caFile) //nolint:gosec // G304: the file the user named in --ca-file
		if err != nil {
			return nil, usagef("--ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("--ca-file %s: no PEM certificate in it", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func printCheck(w io.Writer, results []turncheck.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "URL\tTRANSPORT\tCONNECT\tALLOCATE\tRTT AVG\tRTT MIN\tJITTER\tLOSS\tRESULT")
	dash := func(ok bool, s string) string {
		if !ok {
			return "-"
		}
		return s
	}
	for _, r := range results {
		result := "ok"
		if !r.OK {
			result = "failed at " + string(r.Stage)
		}
		got := r.Received > 0
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.URL, r.Transport,
			dash(r.ConnectTime > 0 && r.Stage != turncheck.StageConnect, turncheck.Millis(r.ConnectTime)),
			dash(r.AllocateTime > 0, turncheck.Millis(r.AllocateTime)),
			dash(got, turncheck.Millis(r.RTTAvg)), dash(got, turncheck.Millis(r.RTTMin)), dash(got, turncheck.Millis(r.Jitter)),
			dash(r.Sent > 0, percent(r.Loss)), result)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "%s: %s\n", r.URL, r.Diagnosis)
	}
	fmt.Fprintf(w, "\nsummary: %s\n", summary(results))
}

// summary says per transport whether it works, e.g. "TCP works; UDP: no
// answer to Allocate within 3s: UDP is blocked on this network, ...".
func summary(results []turncheck.Result) string {
	var parts []string
	anyOK := false
	for _, t := range []string{turncheck.UDP, turncheck.TCP, turncheck.TLS} {
		seen, ok, diag := false, false, ""
		for _, r := range results {
			if r.Transport != t {
				continue
			}
			seen = true
			if r.OK {
				ok = true
			} else if diag == "" {
				diag = r.Diagnosis
			}
		}
		switch {
		case !seen:
		case ok:
			anyOK = true
			parts = append(parts, strings.ToUpper(t)+" works")
		default:
			parts = append(parts, strings.ToUpper(t)+": "+diag)
		}
	}
	s := strings.Join(parts, "; ")
	if !anyOK {
		s = "nothing works; " + s
	}
	return s
}

type checkResultJSON struct {
	URL            string   `json:"url"`
	Transport      string   `json:"transport"`
	Server         string   `json:"server,omitempty"`
	OK             bool     `json:"ok"`
	Stage          string   `json:"stage"`
	Code           int      `json:"turn_error_code,omitempty"`
	ConnectTimeMS  *float64 `json:"connect_ms,omitempty"`
	AllocateTimeMS *float64 `json:"allocate_ms,omitempty"`
	RelayedAddress string   `json:"relayed_address,omitempty"`
	Sent           int      `json:"sent"`
	Received       int      `json:"received"`
	RTTMinMS       *float64 `json:"rtt_min_ms,omitempty"`
	RTTAvgMS       *float64 `json:"rtt_avg_ms,omitempty"`
	RTTMaxMS       *float64 `json:"rtt_max_ms,omitempty"`
	JitterMS       *float64 `json:"jitter_ms,omitempty"`
	Loss           *float64 `json:"loss,omitempty"`
	Diagnosis      string   `json:"diagnosis"`
}

type checkOutput struct {
	Works   bool              `json:"works"`
	Summary string            `json:"summary"`
	Results []checkResultJSON `json:"results"`
}

func checkJSON(results []turncheck.Result, works bool) checkOutput {
	out := checkOutput{Works: works, Summary: summary(results), Results: []checkResultJSON{}}
	opt := func(ok bool, d time.Duration) *float64 {
		if !ok {
			return nil
		}
		v := durMS(d)
		return &v
	}
	for _, r := range results {
		got := r.Received > 0
		j := checkResultJSON{
			URL: r.URL, Transport: r.Transport, Server: r.Server, OK: r.OK, Stage: string(r.Stage), Code: r.Code,
			ConnectTimeMS: opt(r.ConnectTime > 0 && r.Stage != turncheck.StageConnect, r.ConnectTime), AllocateTimeMS: opt(r.AllocateTime > 0, r.AllocateTime),
			RelayedAddress: r.RelayedAddr, Sent: r.Sent, Received: r.Received,
			RTTMinMS: opt(got, r.RTTMin), RTTAvgMS: opt(got, r.RTTAvg), RTTMaxMS: opt(got, r.RTTMax), JitterMS: opt(got, r.Jitter),
			Diagnosis: r.Diagnosis,
		}
		if r.Sent > 0 {
			l := r.Loss
			j.Loss = &l
		}
		out.Results = append(out.Results, j)
	}
	return out
}
