package daemon

import (
	"errors"
	"time"

	"github.com/cpam/attestd/outbox"
)

// Observer is told what the daemon does, for metrics and health checks
// (package metrics implements it). The daemon calls it from several
// goroutines at once: implementations must be safe for concurrent use and
// cheap, since they run on the message path. No call carries personal data.
type Observer interface {
	// MessageHandled: a message reached its folder with this outcome;
	// took is from its fetch to its filing.
	MessageHandled(outcome string, took time.Duration)
	// MessageDeferred: a message could not be decided or stored now (the
	// store unreachable, say); it stays in the mailbox for the next sweep.
	MessageDeferred()
	// AttestationRendered: an attestation PDF was rendered (a request
	// over its compte's daily limit renders none).
	AttestationRendered()
	// ReplySent: the SMTP relay accepted a reply.
	ReplySent()
	// ReplyDeferred: a temporary SMTP failure, the outbox retries later.
	// reachable is false when no relay answered at all (connection
	// refused or cut, timeout).
	ReplyDeferred(reachable bool)
	// ReplyRefused: a permanent SMTP failure; the reply is not retried.
	ReplyRefused()
	// IMAPConnection: the "work" or the "idle" connection went up or down.
	IMAPConnection(conn string, up bool)
	// Polled: a command on the work connection succeeded at t (a search
	// of the mailbox, a fetch): the mailbox is being watched.
	Polled(t time.Time)
}

// nopObserver is the Observer when none is given.
type nopObserver struct{}

func (nopObserver) MessageHandled(string, time.Duration) {}
func (nopObserver) MessageDeferred()                     {}
func (nopObserver) ReplySent()                           {}
func (nopObserver) AttestationRendered()                 {}
func (nopObserver) ReplyDeferred(bool)                   {}
func (nopObserver) ReplyRefused()                        {}
func (nopObserver) IMAPConnection(string, bool)          {}
func (nopObserver) Polled(time.Time)                     {}

// relayAnswered reports whether a failed send got an SMTP reply at all: a
// 4xx means the relay is there but busy, a network error that it is not.
func relayAnswered(err error) bool {
	var se *outbox.SendError
	return errors.As(err, &se) && se.Code != 0
}
