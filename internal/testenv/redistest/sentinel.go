package redistest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelConfig shapes a Sentinel set. Its zero value is one replica,
// three sentinels, quorum two, and timings short enough for a failover in
// a few seconds.
type SentinelConfig struct {
	Name      string // the master's name; default "relaygate"
	Replicas  int    // default 1
	Sentinels int    // default 3; the quorum is a majority of them
	// DownAfter is how long the master must not answer before a sentinel
	// calls it down (down-after-milliseconds); default 1s.
	DownAfter time.Duration
	// FailoverTimeout is Sentinel's failover-timeout: how long a failover
	// may take, and half the pause before another sentinel tries again
	// after one that did not finish; default 3s.
	FailoverTimeout time.Duration
}

func (c SentinelConfig) withDefaults() SentinelConfig {
	c.Name = cmp.Or(c.Name, "relaygate")
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.Sentinels = cmp.Or(c.Sentinels, 3)
	c.DownAfter = cmp.Or(c.DownAfter, time.Second)
	c.FailoverTimeout = cmp.Or(c.FailoverTimeout, 3*time.Second)
	return c
}

// Sentinel is a master, its replicas and the sentinels watching them, all
// started by a test.
type Sentinel struct {
	Name      string
	Master    *Server // the master at start; after a failover, see MasterAddr
	Replicas  []*Server
	Sentinels []*Server
}

// StartSentinel starts a master, cfg.Replicas replicas of it and
// cfg.Sentinels sentinels monitoring it, and waits until every replica is
// in sync and every sentinel knows the replicas and the other sentinels,
// so that a failover can start at once.
func StartSentinel(tb testing.TB, cfg SentinelConfig) *Sentinel {
	tb.Helper()
	cfg = cfg.withDefaults()
	s := &Sentinel{Name: cfg.Name, Master: Start(tb)}
	for range cfg.Replicas {
		s.Replicas = append(s.Replicas, start(tb, "replica", func(int, int) []string {
			return []string{"replicaof 127.0.0.1 " + strconv.Itoa(s.Master.Port)}
		}, false))
	}
	quorum := cfg.Sentinels/2 + 1
	for range cfg.Sentinels {
		s.Sentinels = append(s.Sentinels, start(tb, "sentinel", func(int, int) []string {
			return []string{
				fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", cfg.Name, s.Master.Port, quorum),
				fmt.Sprintf("sentinel down-after-milliseconds %s %d", cfg.Name, cfg.DownAfter.Milliseconds()),
				fmt.Sprintf("sentinel failover-timeout %s %d", cfg.Name, cfg.FailoverTimeout.Milliseconds()),
				fmt.Sprintf("sentinel parallel-syncs %s 1", cfg.Name),
			}
		}, true))
	}
	all := s.servers()
	waitFor(tb, "the replicas to sync", StartTimeout, all, func(ctx context.Context) error {
		for _, r := range s.Replicas {
			info, err := r.Client().Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			if st := infoField(info, "master_link_status"); st != "up" {
				return fmt.Errorf("replica %s: master link %q", r.Addr, st)
			}
		}
		return nil
	})
	waitFor(tb, "the sentinels to know each other and the replicas", StartTimeout, all, func(ctx context.Context) error {
		for _, sn := range s.Sentinels {
			m, err := sn.sc.Master(ctx, cfg.Name).Result()
			if err != nil {
				return err
			}
			if m["num-slaves"] != strconv.Itoa(cfg.Replicas) || m["num-other-sentinels"] != strconv.Itoa(cfg.Sentinels-1) {
				return fmt.Errorf("sentinel %s: %s replicas and %s other sentinels known", sn.Addr, m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return nil
	})
	return s
}

// servers lists every server of the set.
func (s *Sentinel) servers() []*Server {
	return append(append([]*Server{s.Master}, s.Replicas...), s.Sentinels...)
}

// URL is the set as relaygate's --redis-url takes it:
// redis+sentinel://first?master_name=N&addr=second&addr=third….
func (s *Sentinel) URL() string {
	u := "redis+sentinel://" + s.Sentinels[0].Addr + "?master_name=" + s.Name
	for _, sn := range s.Sentinels[1:] {
		u += "&addr=" + sn.Addr
	}
	return u
}

// MasterAddr asks the sentinels that are up where the master is now, and
// fails unless those that answer agree.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var addrs []string
	var errs []error
	for _, sn := range s.Sentinels {
		if sn.Exited() {
			continue
		}
		hp, err := sn.sc.GetMasterAddrByName(ctx, s.Name).Result()
		if err != nil || len(hp) != 2 {
			errs = append(errs, fmt.Errorf("sentinel %s: %v %w", sn.Addr, hp, err))
			continue
		}
		addrs = append(addrs, net.JoinHostPort(hp[0], hp[1]))
	}
	if len(addrs) == 0 {
		return "", errors.Join(append(errs, errors.New("no sentinel answered"))...)
	}
	for _, a := range addrs[1:] {
		if a != addrs[0] {
			return "", fmt.Errorf("sentinels disagree on the master: %s", strings.Join(addrs, ", "))
		}
	}
	return addrs[0], nil
}

// Sync waits until every replica has acknowledged every write the master
// has taken so far (WAIT), so that a failover loses none of them.
func (s *Sentinel) Sync(tb testing.TB) {
	tb.Helper()
	n, err := s.Master.Client().Wait(tb.Context(), len(s.Replicas), StartTimeout).Result()
	if err != nil || int(n) != len(s.Replicas) {
		tb.Fatalf("WAIT %d replicas = %d, %v", len(s.Replicas), n, err)
	}
}

// WaitFailover waits, up to timeout, until the sentinels agree on a master
// other than old and that server, one of the replicas, answers as a master;
// it returns the new master. Kill the old one first. On timeout it fails tb
// with the sentinels' logs.
func (s *Sentinel) WaitFailover(tb testing.TB, old string, timeout time.Duration) *Server {
	tb.Helper()
	var now *Server
	waitFor(tb, "a failover", timeout, s.servers(), func(ctx context.Context) error {
		addr, err := s.MasterAddr(ctx)
		if err != nil {
			return err
		}
		if addr == old {
			return fmt.Errorf("sentinels still name %s", old)
		}
		for _, r := range s.Replicas {
			if r.Addr != addr {
				continue
			}
			info, err := r.Client().Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			if role := infoField(info, "role"); role != "master" {
				return fmt.Errorf("%s is named master but is a %s", addr, role)
			}
			now = r
			return nil
		}
		return fmt.Errorf("sentinels name %s, not a replica this test started", addr)
	})
	return now
}
