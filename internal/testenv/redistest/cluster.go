package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// slots is the number of Cluster hash slots.
const slots = 16384

// Cluster is a Redis Cluster of masters (no replicas) a test started.
type Cluster struct {
	Masters []*Server
}

// StartCluster starts masters (at least 1) cluster-enabled servers, gives
// each an equal share of the slots, joins them (CLUSTER MEET, as redis-cli
// --cluster create does) and waits until every node reports the cluster ok
// and knows every other.
func StartCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	if masters < 1 {
		tb.Fatalf("StartCluster(%d): want at least one master", masters)
	}
	c := &Cluster{}
	for i := range masters {
		c.Masters = append(c.Masters, start(tb, fmt.Sprintf("cluster-%d", i), func(_, bus int) []string {
			return []string{
				"cluster-enabled yes",
				"cluster-config-file nodes.conf",
				"cluster-port " + strconv.Itoa(bus),
				"cluster-node-timeout 5000",
				"cluster-require-full-coverage yes",
			}
		}, false))
	}
	ctx := tb.Context()
	clients := make([]*redis.Client, masters)
	for i, s := range c.Masters {
		clients[i] = s.Client()
		lo, hi := i*slots/masters, (i+1)*slots/masters-1
		args := make([]int, 0, hi-lo+1)
		for slot := lo; slot <= hi; slot++ {
			args = append(args, slot)
		}
		if err := clients[i].ClusterAddSlots(ctx, args...).Err(); err != nil {
			tb.Fatalf("CLUSTER ADDSLOTS on %s: %v", s.Addr, err)
		}
		// Distinct epochs, so the nodes need not resolve collisions first.
		if err := clients[i].Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			tb.Fatalf("CLUSTER SET-CONFIG-EPOCH on %s: %v", s.Addr, err)
		}
	}
	for i := 1; i < masters; i++ {
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", c.Masters[i].Port, c.Masters[i].bus).Err(); err != nil {
			tb.Fatalf("CLUSTER MEET %s: %v", c.Masters[i].Addr, err)
		}
	}
	waitFor(tb, "the cluster to form", StartTimeout, c.Masters, func(ctx context.Context) error {
		for i, cl := range clients {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			state, known, ok := infoField(info, "cluster_state"), infoField(info, "cluster_known_nodes"), infoField(info, "cluster_slots_ok")
			if state != "ok" || known != strconv.Itoa(masters) || ok != strconv.Itoa(slots) {
				return fmt.Errorf("node %d: cluster_state %s, %s nodes known, %s slots ok", i, state, known, ok)
			}
		}
		return nil
	})
	return c
}

// Addrs lists the masters' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Masters))
	for i, s := range c.Masters {
		addrs[i] = s.Addr
	}
	return addrs
}

// URL is the cluster as relaygate's --redis-url takes it:
// redis+cluster://first?addr=second&addr=third….
func (c *Cluster) URL() string {
	addrs := c.Addrs()
	u := "redis+cluster://" + addrs[0]
	if len(addrs) > 1 {
		u += "?addr=" + strings.Join(addrs[1:], "&addr=")
	}
	return u
}

// Client returns a Cluster client of c, closed when the test ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}
