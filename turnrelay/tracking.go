package turnrelay

import (
	"net"
	"sync"
)

// trackingListener caps concurrent client connections and closes them all
// on shutdown (pion closes its listeners but not accepted connections).
type trackingListener struct {
	net.Listener
	limit int // connections at most

	mu     sync.Mutex // guards below
	conns  map[*trackedConn]struct{}
	closed bool
}

func newTrackingListener(l net.Listener, limit int) *trackingListener {
	return &trackingListener{Listener: l, limit: limit, conns: map[*trackedConn]struct{}{}}
}

// Accept returns the next connection; over the cap, connections are closed
// at once rather than queued.
func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.closed || len(l.conns) >= l.limit {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

func (l *trackingListener) closeAll() {
	_ = l.Close() // the listener's own: trackingListener adds none
	l.mu.Lock()
	l.closed = true
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
