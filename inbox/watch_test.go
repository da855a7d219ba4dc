package inbox

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// noopCounter counts the NOOP commands a client writes on its connections.
type noopCounter struct {
	mu sync.Mutex
	n  int
}

func (c *noopCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

type countingConn struct {
	net.Conn
	c *noopCounter
}

func (cc countingConn) Write(b []byte) (int, error) {
	cc.c.mu.Lock()
	cc.c.n += bytes.Count(b, []byte(" NOOP\r\n"))
	cc.c.mu.Unlock()
	return cc.Conn.Write(b)
}

// TestWatchPollsOnlyWhileBusy: right after new mail the watching connection
// polls with NOOP every BusyPoll; once nothing new came for BusyFor it idles
// and, with no IdleWakeup, sends nothing at all; new mail makes it poll again.
func TestWatchPollsOnlyWhileBusy(t *testing.T) {
	srv := localServer(t)
	cfg := testConfig(srv.Addr())
	cfg.IdleWakeup = 0
	cfg.BusyPoll = 10 * time.Millisecond
	cfg.BusyFor = 300 * time.Millisecond
	noops := &noopCounter{}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, noops}, nil
	}
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, cfg, wake) }()
	<-wake // the start counts as news: busy
	waitFor(t, "NOOPs while busy", func() bool { return noops.count() >= 3 })
	time.Sleep(cfg.BusyFor + 500*time.Millisecond) // quiet: back in IDLE
	quiet := noops.count()
	time.Sleep(300 * time.Millisecond)
	if n := noops.count(); n != quiet {
		t.Fatalf("%d NOOPs sent while quiet in pure IDLE", n-quiet)
	}
	if _, err := srv.Append(testUser, "INBOX", request("busy", "attestation")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after new mail")
	}
	waitFor(t, "NOOPs after new mail", func() bool { return noops.count() >= quiet+3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch after cancel: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("%s: not within 10 s", what)
}
