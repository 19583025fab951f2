package store

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestOpenSilentServerTimesOut points the store at a TCP server that accepts
// connections and never answers: Open must fail within the default connect
// timeout instead of hanging.
func TestOpenSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	start := time.Now()
	s, err := Open(context.Background(), fmt.Sprintf("postgres://postgres@%s/x?sslmode=disable", ln.Addr()), nil)
	if err == nil {
		s.Close()
		t.Fatal("Open of a silent server succeeded")
	}
	if d := time.Since(start); d > DefaultConnectTimeout+5*time.Second {
		t.Fatalf("Open took %s to fail, want about %s", d, DefaultConnectTimeout)
	}
}
