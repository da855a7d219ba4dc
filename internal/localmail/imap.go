package localmail

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPServer is go-imap v2's in-memory server (imapmemserver) on loopback,
// with IDLE made reliable (see imapSession). The mail lives in memory, outside
// the network server, so Stop and Start simulate a restart that loses
// nothing.
type IMAPServer struct {
	loopback // gives Addr, Connections, Stop and Close

	users     map[string]*imapmemserver.User // read-only after StartIMAP
	passwords map[string]string

	mu        sync.Mutex
	delivered chan struct{} // closed and replaced at each Append
}

// StartIMAP starts an IMAP server on addr ("127.0.0.1:0" picks a free port)
// with one account per entry of users (user name -> password), each with an
// empty INBOX.
func StartIMAP(addr string, users map[string]string) (*IMAPServer, error) {
	s := &IMAPServer{
		loopback:  loopback{name: "localmail imap", addr: addr},
		delivered: make(chan struct{}),
		users:     make(map[string]*imapmemserver.User),
		passwords: make(map[string]string),
	}
	for name, password := range users {
		u := imapmemserver.NewUser(name, password)
		if err := u.Create("INBOX", nil); err != nil {
			return nil, fmt.Errorf("localmail imap: creating INBOX of %s: %w", name, err)
		}
		s.users[name] = u
		s.passwords[name] = password
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start listens again after Stop, on the same address, with the same mail.
// It does nothing when the server is running.
func (s *IMAPServer) Start() error { return s.start(s.newServer) }

func (s *IMAPServer) newServer() server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{server: s}, nil, nil
		},
		// imapmemserver implements IMAP4rev2 (IDLE, MOVE, UIDPLUS...) and
		// needs it announced; rev1 stays for older clients.
		Caps:   imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger: debugLogger{server: s.name},
		// Plain text on loopback: there is no TLS to wait for.
		InsecureAuth: true,
	})
}

// Append delivers raw to a mailbox of user, as a mail server would, and
// returns its UID. Clients idling on that mailbox get an EXISTS. It works
// while the server is stopped too: mail keeps arriving during an outage.
func (s *IMAPServer) Append(user, mailbox string, raw []byte) (uid uint32, err error) {
	u, err := s.user(user)
	if err != nil {
		return 0, err
	}
	data, err := u.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{})
	if err != nil {
		return 0, fmt.Errorf("localmail imap: appending to %s of %s: %w", mailbox, user, err)
	}
	s.mu.Lock()
	close(s.delivered)
	s.delivered = make(chan struct{})
	s.mu.Unlock()
	return uint32(data.UID), nil
}

// deliveries returns a channel closed at the next Append.
func (s *IMAPServer) deliveries() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered
}

// CreateMailbox creates a mailbox of user (no error when it exists).
func (s *IMAPServer) CreateMailbox(user, mailbox string) error {
	u, err := s.user(user)
	if err != nil {
		return err
	}
	if err := u.Create(mailbox, nil); err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("localmail imap: creating %s of %s: %w", mailbox, user, err)
	}
	return nil
}

func (s *IMAPServer) user(name string) (*imapmemserver.User, error) {
	u := s.users[name]
	if u == nil {
		return nil, fmt.Errorf("localmail imap: no user %q", name)
	}
	return u, nil
}

func isAlreadyExists(err error) bool {
	var imapErr *imap.Error
	return errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists
}
