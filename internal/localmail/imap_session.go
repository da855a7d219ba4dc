package localmail

import (
	"time"

	"github.com/emersion/go-imap/v2"
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

// Move is imapmemserver's, except for a UID MOVE of messages all gone
// already: imapmemserver answers it with a COPYUID response code holding
// empty UID sets, which RFC 4315 has no syntax for (go-imap's own client
// rejects it), where Dovecot answers a plain "OK No messages found". Here
// it is a plain OK too, so that tests see what a real server does when a
// message was filed already (by another replica, say).
func (s *imapSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if uids, ok := numSet.(imap.UIDSet); ok {
		found, err := s.UserSession.Search(imapserver.NumKindUID, &imap.SearchCriteria{UID: []imap.UIDSet{uids}}, &imap.SearchOptions{})
		if err != nil {
			return err
		}
		if len(found.AllUIDs()) == 0 {
			return nil
		}
	}
	return s.UserSession.Move(w, numSet, dest)
}
