package localmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
)

// loopback is the life both servers lead on loopback: listening on an
// address fixed by the first start, stopped and started again there with
// their data (kept by the server types) intact, closed for good.
type loopback struct {
	name     string // "localmail imap": how errors begin
	accepted atomic.Int64

	runMu  sync.Mutex
	addr   string       // fixed by the first start: a restart reuses it
	srv    server       // nil while stopped
	ln     net.Listener // closed by Stop itself: Serve may not have registered it yet
	closed bool
}

// server is what go-imap's and go-smtp's servers have in common.
type server interface {
	Serve(net.Listener) error
	Close() error
}

// Addr is the host:port the server listens on.
func (l *loopback) Addr() string {
	l.runMu.Lock()
	defer l.runMu.Unlock()
	return l.addr
}

// Connections is the number of connections the server accepted since it
// was first started.
func (l *loopback) Connections() int { return int(l.accepted.Load()) }

// start listens and serves with a server made by newServer. It does
// nothing when the server is running.
func (l *loopback) start(newServer func() server) error {
	l.runMu.Lock()
	defer l.runMu.Unlock()
	if l.closed {
		return errors.New(l.name + ": server is closed; start a new one")
	}
	if l.srv != nil {
		return nil
	}
	ln, err := listen(l.addr, &l.accepted)
	if err != nil {
		return fmt.Errorf("%s: listening on %s: %w", l.name, l.addr, err)
	}
	l.addr = ln.Addr().String()
	srv := newServer()
	l.srv, l.ln = srv, ln
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Stop closes the listener and every open connection, so clients see their
// connection cut and new ones refused, until Start. What the server holds
// (mail, messages received) is kept.
func (l *loopback) Stop() error {
	l.runMu.Lock()
	defer l.runMu.Unlock()
	return l.stopLocked()
}

func (l *loopback) stopLocked() error {
	if l.srv == nil {
		return nil
	}
	lnErr := l.ln.Close()
	err := l.srv.Close()
	l.srv, l.ln = nil, nil
	if err == nil && !errors.Is(lnErr, net.ErrClosed) {
		err = lnErr
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%s: stopping: %w", l.name, err)
	}
	return nil
}

// Close stops the server for good.
func (l *loopback) Close() error {
	l.runMu.Lock()
	defer l.runMu.Unlock()
	l.closed = true
	return l.stopLocked()
}

// countingListener counts the connections it accepts, so tests can check
// that a client reuses its connection.
type countingListener struct {
	net.Listener
	accepted *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// listen opens a TCP listener on addr, which must be a loopback address
// ("127.0.0.1:0" picks a free port).
func listen(addr string, accepted *atomic.Int64) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return countingListener{Listener: ln, accepted: accepted}, nil
}

// debugLogger sends the libraries' error lines (a client hanging up...) to
// slog at debug level: invisible in a demo unless debug logging is on.
type debugLogger struct{ server string }

func (l debugLogger) Printf(format string, args ...any) {
	slog.Default().Log(context.Background(), slog.LevelDebug, l.server+": "+fmt.Sprintf(format, args...))
}

func (l debugLogger) Println(args ...any) {
	slog.Default().Log(context.Background(), slog.LevelDebug, l.server+": "+fmt.Sprint(args...))
}
