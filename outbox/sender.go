package outbox

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"net/textproto"

	"github.com/wneessen/go-mail/smtp"
)

const (
	defaultTimeout   = time.Minute
	defaultIdleCheck = 30 * time.Second
	defaultHELO      = "localhost"
)

// SMTPConfig says how to reach the relay (SPEC section 12, smtp:).
type SMTPConfig struct {
	// Address is host:port of the relay.
	Address string
	// TLS is "none" (or empty), "starttls" or "tls" (implicit TLS).
	TLS string
	// Username and Password authenticate with PLAIN (or LOGIN when the relay
	// offers only that). An empty Username means no authentication. The
	// password is never sent over a connection that is neither encrypted nor
	// to localhost.
	Username, Password string
	// HELO is the name given in EHLO, "localhost" when empty. Set it to the
	// service's host name for a real relay.
	HELO string
	// Timeout bounds each Send (and each connection set-up) on top of the
	// caller's context; one minute when zero.
	Timeout time.Duration
	// IdleCheck: a connection idle for longer is checked with NOOP before it
	// carries a message; 30 seconds when zero.
	IdleCheck time.Duration
	// InsecureSkipVerify accepts any certificate (tests, self-signed relays).
	InsecureSkipVerify bool
	// Dial opens the TCP connection; nil means a net.Dialer. A seam for
	// tests and for operators who route through something else.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Sender delivers raw messages to one relay over one reused SMTP connection.
//
// It is safe for concurrent use: calls are serialised on the connection.
// The daemon sends through a [Pool] of them: one connection waits for the
// relay to store each reply before the next can go.
type Sender struct {
	cfg SMTPConfig

	mu       sync.Mutex // guards everything below and serialises Send
	client   *smtp.Client
	conn     net.Conn // the connection under client, for deadlines
	lastUsed time.Time
	closed   bool
}

// NewSender returns a Sender for cfg. It does not connect: the first Send
// does.
func NewSender(cfg SMTPConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.IdleCheck <= 0 {
		cfg.IdleCheck = defaultIdleCheck
	}
	if cfg.HELO == "" {
		cfg.HELO = defaultHELO
	}
	return &Sender{cfg: cfg}
}

// Send delivers raw (a complete RFC 5322 message, CRLF line ends) from the
// envelope sender from to the envelope recipients to. Every recipient must
// be accepted, or nothing is sent. Errors are [*SendError]s.
//
// The connection is reused across calls: a connection idle for longer than
// IdleCheck is checked with NOOP, a failed transaction is cleared with RSET,
// and a connection found dead before the message was handed over is replaced
// once, transparently. A failure while the relay acknowledges the end of the
// data is never retried here: the relay may have taken the message, and only
// the caller's outbox can decide to send it again.
func (s *Sender) Send(ctx context.Context, from string, to []string, raw []byte) error {
	return s.SendWithHook(ctx, from, to, raw, nil)
}

// SendWithHook is [Sender.Send] that calls afterDot (when not nil) once the
// end of the data (CRLF.CRLF) has been written to the connection and
// before the relay's answer is read: the instant from which the relay may
// have taken the message (see endData for how close the two are). The daemon records "handed over" there, so that a
// crash while the relay answers does not send the reply again. afterDot
// runs at most once per call, and never when the message did not reach
// the end of the data; the relay's answer may still refuse it (the error
// then says so, as with Send).
func (s *Sender) SendWithHook(ctx context.Context, from string, to []string, raw []byte, afterDot func()) error {
	if len(to) == 0 || len(raw) == 0 {
		return &SendError{Stage: "input", Msg: "no recipient or empty message: nothing to send"}
	}
	for _, addr := range append([]string{from}, to...) {
		if !isEnvelopeAddr(addr) {
			// The address itself stays out of the error: it is personal data.
			return &SendError{Stage: "input", Msg: "an envelope address is empty or has a control character, space or angle bracket"}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &SendError{Temporary: true, Stage: "input", Msg: "sender is closed (shutting down)", Err: net.ErrClosed}
	}
	reused := s.client != nil
	err := s.attempt(ctx, from, to, raw, afterDot)
	if err != nil && reused && staleConn(err) && ctx.Err() == nil {
		// The kept connection had died (relay restarted, idle timeout):
		// nothing was handed over, so try once on a fresh one.
		err = s.attempt(ctx, from, to, raw, afterDot)
	}
	if err != nil {
		return err
	}
	return nil // not err: a nil *SendError is a non-nil error
}

// staleConn reports a failure that a kept connection gives when the relay
// has let it go: the connection was cut, or the relay had said 421 (closing,
// e.g. its idle timeout) and that reply was waiting in the buffer. Not after
// the end of the data, when the relay may have taken the message.
func staleConn(err *SendError) bool {
	return err.Stage != stageDataEnd && (err.Code == 421 || err.Code == 0 && err.Temporary)
}

// Stages of a transaction that the retry rule and error messages use.
const (
	stageNoop    = "noop"
	stageMail    = "mail"
	stageRcpt    = "rcpt"
	stageData    = "data"
	stageDataEnd = "data-end"
)

// attempt runs one transaction, connecting first when needed. On failure
// the connection is kept only when the relay answered and RSET succeeded.
func (s *Sender) attempt(ctx context.Context, from string, to []string, raw []byte, afterDot func()) *SendError {
	if s.client == nil {
		if err := s.connect(ctx); err != nil {
			return err
		}
	} else if time.Since(s.lastUsed) > s.cfg.IdleCheck {
		stop := s.watch(ctx)
		err := s.client.Noop()
		stop()
		if err != nil {
			s.drop()
			return s.fail(ctx, stageNoop, err)
		}
	}
	stop := s.watch(ctx)
	defer stop()
	stage, err := s.transact(from, to, raw, afterDot)
	if err != nil {
		se := s.fail(ctx, stage, err)
		// A reply (other than 421, closing) leaves the session usable once
		// RSET clears the transaction; anything else leaves it unknown.
		if se.Code != 0 && se.Code != 421 && s.client.Reset() == nil {
			s.lastUsed = time.Now()
		} else {
			s.drop()
		}
		return se
	}
	s.lastUsed = time.Now()
	return nil
}

// transact sends one message on the open connection and returns the stage
// that failed. It runs DATA itself rather than through the client's
// DataCloser, to call afterDot right after the final dot is written and
// before the relay's answer is read.
func (s *Sender) transact(from string, to []string, raw []byte, afterDot func()) (string, error) {
	if err := s.client.Mail("<" + from + ">"); err != nil {
		return stageMail, err
	}
	for _, rcpt := range to {
		if err := s.client.Rcpt("<" + rcpt + ">"); err != nil {
			return stageRcpt, err
		}
	}
	text := s.client.Text
	id, err := text.Cmd("DATA")
	if err != nil {
		return stageData, err
	}
	text.StartResponse(id)
	_, _, err = text.ReadResponse(354)
	text.EndResponse(id)
	if err != nil {
		return stageData, err
	}
	// The body goes through a dot writer of its own, flushed but never
	// closed: the end of the data is written apart, by endData.
	w := textproto.NewWriter(text.W).DotWriter()
	if _, err := w.Write(raw); err != nil {
		return stageData, err
	}
	if raw[len(raw)-1] != '\n' {
		if _, err := w.Write([]byte("\r\n")); err != nil {
			return stageData, err
		}
	}
	if err := text.W.Flush(); err != nil {
		return stageData, err
	}
	if err := s.endData(afterDot); err != nil {
		return stageDataEnd, err
	}
	if _, _, err := text.ReadResponse(250); err != nil {
		return stageDataEnd, err
	}
	return "", nil
}

// fail classifies err, reporting the context's error when the caller gave
// up (the I/O error is then only the deadline we forced).
func (s *Sender) fail(ctx context.Context, stage string, err error) *SendError {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &SendError{Temporary: true, Stage: stage, Msg: "stopped by the caller: " + ctxErr.Error(), Err: ctxErr}
	}
	return classify(stage, err)
}

// watch puts a deadline on the connection (Timeout, or the context's own if
// sooner) and cuts it when ctx is cancelled. Call the returned function when
// the operation is over.
func (s *Sender) watch(ctx context.Context) (stop func()) {
	conn := s.conn
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	cancel := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() { cancel() }
}

// drop closes the current connection without QUIT: it is broken or in an
// unknown state.
func (s *Sender) drop() {
	if s.client != nil {
		_ = s.client.Close()
	}
	s.client, s.conn = nil, nil
}

// Close ends the session politely (QUIT) and makes later Sends fail as
// temporary. It waits for a Send in progress.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.client == nil {
		return nil
	}
	_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	err := s.client.Quit()
	if err != nil {
		_ = s.client.Close()
	}
	s.client, s.conn = nil, nil
	if err != nil && !isNetworkError(err) {
		return fmt.Errorf("closing the SMTP session: the relay refused QUIT: %w", err)
	}
	return nil
}

// isEnvelopeAddr reports whether addr can go between the angle brackets of
// MAIL FROM or RCPT TO: no control character, space or angle bracket
// (UTF-8 is let through for SMTPUTF8 relays). attestd never sends with the
// empty reverse path.
func isEnvelopeAddr(addr string) bool {
	if addr == "" || len(addr) > 320 || !utf8.ValidString(addr) {
		return false
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
