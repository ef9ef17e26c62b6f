// Command echopeer is the relay benchmark's echo peer: it sends every UDP
// datagram it receives back to its sender, unchanged.
//
// It does what turnutils_peer does at a fraction of the CPU, so that on a
// small machine the relay under test, not the peer, is what saturates:
// several sockets share the port with SO_REUSEPORT (one per CPU; the kernel
// spreads the relay's sockets across them by 4-tuple), each read and
// answered in batches (recvmmsg, sendmmsg). Its sockets keep the kernel's
// default buffers unless -buffer says otherwise, as a peer on the Internet
// would, so a peer that falls behind drops rather than queues.
//
//	echopeer -listen 127.0.0.1:3480 [-sockets N] [-buffer BYTES]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

const batch = 64

func main() {
	listen := flag.String("listen", "127.0.0.1:3480", "UDP address to echo on (IPv4)")
	sockets := flag.Int("sockets", runtime.GOMAXPROCS(0), "sockets sharing the port, each with its own loop")
	buffer := flag.Int("buffer", 0, "socket receive and send buffer in bytes; 0 keeps the kernel's default")
	flag.Parse()
	if err := run(*listen, *sockets, *buffer); err != nil {
		fmt.Fprintln(os.Stderr, "echopeer:", err)
		os.Exit(1)
	}
}

func run(addr string, sockets, buffer int) error {
	if sockets < 1 {
		return errors.New("-sockets must be at least 1")
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) //nolint:gosec // G115: a descriptor
		}); err != nil {
			return err
		}
		return serr
	}}
	var conns []*net.UDPConn
	for range sockets {
		pc, err := lc.ListenPacket(context.Background(), "udp4", addr)
		if err != nil {
			return err
		}
		c := pc.(*net.UDPConn)
		if buffer > 0 {
			_ = c.SetReadBuffer(buffer)
			_ = c.SetWriteBuffer(buffer)
		}
		conns = append(conns, c)
		addr = c.LocalAddr().String() // port 0: the others join the first
	}
	fmt.Println("echopeer listening on", addr)
	errc := make(chan error, len(conns))
	for _, c := range conns {
		go func() { errc <- echo(ipv4.NewPacketConn(c)) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		return nil
	case err := <-errc:
		return err
	}
}

// echo answers every datagram c receives, a batch at a time. A batch the
// send buffer has no room for is dropped, not retried.
func echo(c *ipv4.PacketConn) error {
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	out := make([]ipv4.Message, batch)
	for {
		n, err := c.ReadBatch(msgs, 0)
		if err != nil {
			return err
		}
		for i := range n {
			out[i] = ipv4.Message{Buffers: [][]byte{msgs[i].Buffers[0][:msgs[i].N]}, Addr: msgs[i].Addr}
		}
		for sent := 0; sent < n; {
			k, err := c.WriteBatch(out[sent:n], syscall.MSG_DONTWAIT)
			if err != nil || k == 0 {
				break // no room: drop the rest
			}
			sent += k
		}
	}
}
