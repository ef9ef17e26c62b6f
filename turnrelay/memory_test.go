package turnrelay_test

import (
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
)

// BenchmarkIdleAllocation measures what one idle allocation costs the
// whole relay (pion's allocation and its goroutines, the data plane's
// socket and routes, quotas, usage), as a call leaves it: allocated, one
// permission and one channel bound to a peer, nothing flowing. The clients
// live in the same process, so their sockets are opened before the first
// reading and only the allocations fall between the two; the relay's log
// buffer is subtracted.
//
//	go test -run '^$' -bench IdleAllocation -benchtime 1x ./turnrelay
func BenchmarkIdleAllocation(b *testing.B) {
	const n = 500
	for b.Loop() {
		r := relaytest.Start(b)
		p := testenv.ListenUDP(b).LocalAddr().(*net.UDPAddr)
		clients := make([]*rawClient, n)
		for i := range clients {
			cred := r.Credential("user-"+strconv.Itoa(i), time.Hour)
			clients[i] = newRawUDP(b, r.Addr(relay.UDP), cred.Username, cred.Password)
		}
		before, logsBefore, gBefore := heapAndStacks(), len(r.Logs()), runtime.NumGoroutine()
		for _, c := range clients {
			if code := errCode(c.allocate()); code != 0 {
				b.Fatalf("Allocate = %d", code)
			}
			if code := errCode(c.do(stun.MethodChannelBind, channelNumber(0x4001), peer(p.IP, p.Port))); code != 0 {
				b.Fatalf("ChannelBind = %d", code)
			}
		}
		after, logsAfter, gAfter := heapAndStacks(), len(r.Logs()), runtime.NumGoroutine()
		if got := r.Allocations(); got != n {
			b.Fatalf("Allocations() = %d, want %d", got, n)
		}
		b.ReportMetric(float64(int64(after-before)-int64(logsAfter-logsBefore))/n, "B/allocation")
		b.ReportMetric(float64(gAfter-gBefore)/n, "goroutines/allocation")
	}
}

// heapAndStacks is the live heap and goroutine stacks after a collection.
func heapAndStacks() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}
