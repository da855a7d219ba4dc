package outbox

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Pool delivers over up to n SMTP connections at once, each a [Sender]
// with its own reused connection: a reply waits for a free connection, not
// for the relay to finish storing the reply sent before it. Connections
// open on demand and the most recently used is taken first, so that a
// trickle of replies keeps one connection and only a burst opens more.
//
// The relay spends time on each reply before it answers the end of the
// data (Mailpit about 4.5 ms of CPU for a 40 KB reply with its PDF, see
// docs/performance.md): over one connection that time caps the replies a
// second whatever the rest of attestd does.
type Pool struct {
	slots chan struct{} // one token per connection in use
	mu    sync.Mutex
	idle  []*Sender // free senders, the most recently used last
	all   []*Sender
}

// NewPool returns a pool of up to n connections (at least one) to the
// relay of cfg. It does not connect: Sends do.
func NewPool(cfg SMTPConfig, n int) *Pool {
	n = max(n, 1)
	p := &Pool{slots: make(chan struct{}, n)}
	for range n {
		p.all = append(p.all, NewSender(cfg))
	}
	// Taken from the end: the first sender is used first.
	for i := n - 1; i >= 0; i-- {
		p.idle = append(p.idle, p.all[i])
	}
	return p
}

// Send is [Sender.Send] on a free connection.
func (p *Pool) Send(ctx context.Context, from string, to []string, raw []byte) error {
	return p.SendWithHook(ctx, from, to, raw, nil)
}

// SendWithHook is [Sender.SendWithHook] on a free connection, waiting for
// one (or for ctx) when all are busy.
func (p *Pool) SendWithHook(ctx context.Context, from string, to []string, raw []byte, afterDot func()) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return &SendError{Temporary: true, Stage: "input", Msg: "no SMTP connection free: " + ctx.Err().Error(), Err: ctx.Err()}
	}
	defer func() { <-p.slots }()
	p.mu.Lock()
	s := p.idle[len(p.idle)-1]
	p.idle = p.idle[:len(p.idle)-1]
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.idle = append(p.idle, s)
		p.mu.Unlock()
	}()
	return s.SendWithHook(ctx, from, to, raw, afterDot)
}

// Close ends every session (QUIT), waiting for the Sends in progress, and
// makes later Sends fail as temporary.
func (p *Pool) Close() error {
	var errs []error
	for _, s := range p.all {
		if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
