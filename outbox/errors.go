package outbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"syscall"
)

// SendError is how every failure of [Sender.Send] comes back. Temporary is
// decided once, by classify, so the durable outbox never has to look at
// codes or error strings itself.
type SendError struct {
	// Temporary is true when trying again later may succeed: a 4xx reply,
	// or a network failure (refused, reset, timeout, TLS handshake cut).
	// False for a 5xx reply or a message the relay can never accept.
	Temporary bool
	// Code is the SMTP reply code, 0 when the failure was not a reply.
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("5.1.1"), when the
	// relay sent one.
	Enhanced string
	// Msg is the relay's reply text without the codes, or a description of
	// the local failure.
	Msg string
	// Stage is the step that failed: dial, tls, greeting, hello, auth, mail,
	// rcpt, data, or input.
	Stage string
	// Err is the underlying error.
	Err error
}

// Error says what failed, the relay's answer and what will happen.
func (e *SendError) Error() string {
	kind := "permanent failure: retrying will not help"
	if e.Temporary {
		kind = "temporary failure: may succeed later"
	}
	if e.Code != 0 {
		code := fmt.Sprint(e.Code)
		if e.Enhanced != "" {
			code += " " + e.Enhanced
		}
		return fmt.Sprintf("smtp %s: relay answered %s %s (%s)", e.Stage, code, e.Msg, kind)
	}
	return fmt.Sprintf("smtp %s: %s (%s)", e.Stage, e.Msg, kind)
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is worth retrying later: a [*SendError]
// marked Temporary, or, for an error that did not come from Send, what
// classify would decide for it (network trouble is temporary).
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	return classify("", err).Temporary
}

// enhancedCode matches an RFC 3463 status code at the start of a reply text.
var enhancedCode = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\s*`)

// classify is the one place that decides whether a failure is temporary.
//
//   - An SMTP reply: 4xx temporary, 5xx permanent (RFC 5321 section 4.2.1).
//   - Network failures (refused, reset, closed, timeout), a cancelled or
//     expired context: temporary; the relay or the network may come back.
//   - TLS failures: temporary. A handshake cut by the network obviously; a
//     certificate that does not verify is a configuration problem that an
//     operator fixes, and the bounded retries give time for that.
//   - Anything else, notably a message or address the client refuses to
//     write (a CR or LF in an address): permanent, waiting cannot fix it.
func classify(stage string, err error) *SendError {
	se := &SendError{Stage: stage, Err: err, Msg: err.Error()}
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		se.Code = tpErr.Code
		se.Msg = tpErr.Msg
		if m := enhancedCode.FindStringSubmatch(tpErr.Msg); m != nil {
			se.Enhanced = m[1]
			se.Msg = tpErr.Msg[len(m[0]):]
		}
		se.Temporary = tpErr.Code >= 400 && tpErr.Code < 500
		return se
	}
	se.Temporary = isNetworkError(err)
	return se
}

// isNetworkError reports failures of the path to the relay rather than of
// the message.
func isNetworkError(err error) bool {
	var (
		netErr    net.Error
		opErr     *net.OpError
		recErr    tls.RecordHeaderError
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &opErr), errors.As(err, &netErr):
		return true
	case errors.As(err, &recErr), errors.As(err, &certErr), errors.As(err, &unknownCA),
		errors.As(err, &hostErr), errors.As(err, &invalid):
		return true
	}
	return false
}
