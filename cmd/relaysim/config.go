package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"
)

// config is one simulation's parameters; every field has a flag.
type config struct {
	Seed       uint64        // seeds every random draw; default 1
	Relays     int           // default 300
	Clients    int           // default 100000
	GeoIPWrong float64       // share of prefixes GeoIP puts in another city; default 0.10
	Overloaded float64       // share of relays running at 88-100 % of capacity; default 0.08
	Lossy      float64       // share of relays losing 3-10 % of packets; default 0.05
	Down       float64       // share of relays the probes call down; default 0.01
	LoadMax    float64       // healthy relays carry 5 % to this share of capacity; default 0.6
	Warmup     int           // rounds before scoring, one request per client each; default 24
	Rounds     int           // scored rounds; default 6
	Interval   time.Duration // between rounds; default 5m
	Explore    float64       // shipped strategy's explore share; default 0.03, as relaygate's --explore-share
	Gateway    string        // city code the gateway probes from; "" for probes without distance
	Workers    int           // goroutines; default GOMAXPROCS
	FirstCall  bool          // simulate first calls of unmeasured prefixes, GeoIP only and measured first
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("relaysim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of every random draw (PCG)")
	fs.IntVar(&c.Relays, "relays", 300, "number of relays")
	fs.IntVar(&c.Clients, "clients", 100_000, "number of clients")
	fs.Float64Var(&c.GeoIPWrong, "geoip-wrong", 0.10, "share of client prefixes GeoIP places in another, random city")
	fs.Float64Var(&c.Overloaded, "overloaded", 0.08, "share of relays running at 88-100 % of capacity")
	fs.Float64Var(&c.Lossy, "lossy", 0.05, "share of relays losing 3-10 % of packets")
	fs.Float64Var(&c.Down, "down", 0.01, "share of relays the probes call down")
	fs.Float64Var(&c.LoadMax, "load-max", 0.6, "healthy relays start at a load drawn from 5 % to this share of capacity (drifting by 2 points a round, at most 75 %); 0.05 pins them all at 5 %")
	fs.IntVar(&c.Warmup, "warmup", 24, "rounds before scoring; each client makes one request per round and reports RTTs to the relays it was given")
	fs.IntVar(&c.Rounds, "rounds", 6, "scored rounds")
	fs.DurationVar(&c.Interval, "interval", 5*time.Minute, "simulated time between rounds")
	fs.Float64Var(&c.Explore, "explore", 0.03, "share of shipped answers whose backup explores (relaygate --explore-share)")
	fs.StringVar(&c.Gateway, "gateway", "fra", `city code of the gateway whose STUN probes fill Relay.Probe ("" = probes see no distance)`)
	fs.IntVar(&c.Workers, "workers", runtime.GOMAXPROCS(0), "goroutines simulating clients")
	fs.BoolVar(&c.FirstCall, "first-call", false, "instead of rounds: the first call of one client per prefix, none measured yet, placed from GeoIP alone and after measuring the candidate sites the gateway offers (GET /v1/candidates) within 300 ms")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	if c.Relays < 2 || c.Relays > 30_000 {
		errs = append(errs, fmt.Errorf("--relays %d out of range 2..30000", c.Relays))
	}
	if c.Clients < 1 || c.Clients > 10_000_000 {
		errs = append(errs, fmt.Errorf("--clients %d out of range 1..10000000", c.Clients))
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"geoip-wrong", c.GeoIPWrong}, {"overloaded", c.Overloaded}, {"lossy", c.Lossy}, {"down", c.Down}, {"explore", c.Explore}} {
		if !(s.v >= 0 && s.v <= 1) {
			errs = append(errs, fmt.Errorf("--%s %v out of range 0..1", s.name, s.v))
		}
	}
	if !(c.LoadMax >= 0.05 && c.LoadMax <= 0.75) {
		errs = append(errs, fmt.Errorf("--load-max %v out of range 0.05..0.75", c.LoadMax))
	}
	if c.Overloaded+c.Lossy+c.Down > 0.9 {
		errs = append(errs, fmt.Errorf("--overloaded + --lossy + --down = %v leaves too few normal relays (max 0.9)", c.Overloaded+c.Lossy+c.Down))
	}
	if c.Warmup < 0 || c.Warmup > 1000 {
		errs = append(errs, fmt.Errorf("--warmup %d out of range 0..1000", c.Warmup))
	}
	if c.Rounds < 2 || c.Rounds > 1000 {
		errs = append(errs, fmt.Errorf("--rounds %d out of range 2..1000 (flaps need two)", c.Rounds))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--interval %v must be positive", c.Interval))
	}
	if c.Gateway != "" && cityIndex(c.Gateway) < 0 {
		errs = append(errs, fmt.Errorf("--gateway %q is not a city code of the table", c.Gateway))
	}
	if c.Workers < 1 || c.Workers > 1024 {
		errs = append(errs, fmt.Errorf("--workers %d out of range 1..1024", c.Workers))
	}
	return errors.Join(errs...)
}

// cityIndex is the index of the city with code, -1 if none.
func cityIndex(code string) int {
	for i, c := range cities {
		if c.Code == code {
			return i
		}
	}
	return -1
}
