package daemon

import (
	"time"

	"github.com/cpam/attestd/decide"
	"github.com/cpam/attestd/queue"
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
	decide.Observer
	// ReplySent, ReplyDeferred and ReplyRefused: what became of a reply.
	queue.Observer
	// IMAPConnection: mailbox's "work" or "idle" connection went up or
	// down.
	IMAPConnection(mailbox, conn string, up bool)
	// Polled: a command on the work connection succeeded at t (a search
	// of the mailbox, a fetch): the mailbox is being watched.
	Polled(t time.Time)
	// MailboxHeld: this replica took the lease of the mailbox named so
	// (held) and watches it, or lost it, or found another replica holding
	// it. A replica that stops releases its leases without a call: it is
	// not a standby.
	MailboxHeld(mailbox string, held bool)
}

// nopObserver is the Observer when none is given.
type nopObserver struct{}

func (nopObserver) MessageHandled(string, time.Duration) {}
func (nopObserver) MessageDeferred()                     {}
func (nopObserver) ReplySent()                           {}
func (nopObserver) AttestationRendered()                 {}
func (nopObserver) ReplyDeferred(bool)                   {}
func (nopObserver) ReplyRefused()                        {}
func (nopObserver) IMAPConnection(string, string, bool)  {}
func (nopObserver) Polled(time.Time)                     {}
func (nopObserver) MailboxHeld(string, bool)             {}
