package localmail

import (
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// idlePoll is how often an idling imapSession looks for changes made by other
// clients (APPEND, MOVE, EXPUNGE). Deliveries through IMAPServer.Append wake
// it at once.
const idlePoll = 25 * time.Millisecond

// imapSession is imapmemserver's session with IDLE redone.
//
// go-imap v2.0.0-beta.8's SessionTracker.Idle only reacts to updates queued
// after it has registered, and never flushes the queue on entry: mail
// appended between the server's "+ idling" and that registration gets no
// EXISTS until the next change (seen here as a flaky IDLE test). This Idle
// polls on entry, on every delivery, and every idlePoll, from the one
// goroutine, so no update is lost and their order is kept.
type imapSession struct {
	*imapmemserver.UserSession // nil until Login
	server                     *IMAPServer
}

var _ imapserver.SessionIMAP4rev2 = (*imapSession)(nil)

// Login checks the password against the account created by StartIMAP.
func (s *imapSession) Login(username, password string) error {
	u := s.server.users[username]
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

// Idle writes mailbox updates until stop is closed.
func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	for {
		delivered := s.server.deliveries()
		if err := s.UserSession.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-delivered:
		case <-tick.C:
		}
	}
}
