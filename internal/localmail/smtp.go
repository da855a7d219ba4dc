package localmail

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one message the SMTP server accepted.
type Received struct {
	// From is the envelope sender (MAIL FROM), To the envelope recipients.
	From string
	To   []string
	// Raw is the message as received (shared: do not modify it).
	Raw []byte
	// At is when the server accepted it.
	At time.Time
}

// SMTPServer is a go-smtp server that keeps every message it accepts. It
// asks for no authentication and offers no TLS: loopback only.
type SMTPServer struct {
	loopback // gives Addr, Connections and Stop

	ctx    context.Context // cancelled by Close: ends subscriptions
	cancel context.CancelFunc

	mu      sync.Mutex
	msgs    []Received
	changed chan struct{} // closed and replaced at each new message
	fault   func(from string, to []string) error
	subs    map[*subscriber]struct{}
}

// StartSMTP starts an SMTP server listening on addr ("127.0.0.1:0" picks a
// free port; Addr tells which).
func StartSMTP(addr string) (*SMTPServer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &SMTPServer{loopback: loopback{name: "localmail smtp", addr: addr}, ctx: ctx, cancel: cancel, changed: make(chan struct{}), subs: make(map[*subscriber]struct{})}
	if err := s.Start(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// Start listens again after Stop, on the same address, with the messages
// received so far. It does nothing when the server is running.
func (s *SMTPServer) Start() error { return s.start(s.newServer) }

func (s *SMTPServer) newServer() server {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = 10 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = debugLogger{server: s.name}
	return srv
}

// Close stops the server for good and ends every subscription.
func (s *SMTPServer) Close() error {
	err := s.loopback.Close()
	s.cancel()
	return err
}

// SetFault makes the server refuse messages: f is called at the end of
// DATA with the envelope, and a non-nil error refuses the message (it is not
// kept). Return an *smtp.SMTPError to choose the reply, e.g. Code 451 for a
// temporary failure, 550 for a permanent one. nil removes the fault.
func (s *SMTPServer) SetFault(f func(from string, to []string) error) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// Messages returns the messages received so far, oldest first.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Wait returns the received messages as soon as there are at least n, or
// ctx's error.
func (s *SMTPServer) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			msgs := slices.Clone(s.msgs)
			s.mu.Unlock()
			return msgs, nil
		}
		changed := s.changed
		have := len(s.msgs)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("localmail smtp: %d of %d messages received: %w", have, n, ctx.Err())
		}
	}
}

// deliver keeps msg and tells waiters and subscribers.
func (s *SMTPServer) deliver(msg Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msg)
	close(s.changed)
	s.changed = make(chan struct{})
	for sub := range s.subs {
		sub.push(msg)
	}
}

func (s *SMTPServer) faultFunc() func(string, []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// session is one SMTP transaction's state (go-smtp creates one per
// connection and resets it between messages).
type session struct {
	server *SMTPServer
	from   string
	to     []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if fault := ss.server.faultFunc(); fault != nil {
		if err := fault(ss.from, slices.Clone(ss.to)); err != nil {
			return err
		}
	}
	ss.server.deliver(Received{From: ss.from, To: slices.Clone(ss.to), Raw: raw, At: time.Now()})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
