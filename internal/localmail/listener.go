package localmail

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
)

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
