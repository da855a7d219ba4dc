package inbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPConfig says how to reach the service mailbox.
type IMAPConfig struct {
	Address  string // host:port
	TLS      string // "none", "starttls" or "tls"
	Username string
	Password string
	Mailbox  string // the mailbox requests arrive in, usually INBOX
	// IdleWakeup is how often an idle connection leaves IDLE to ask the
	// server for news (NOOP) anyway. Some servers (Dovecot 2.3) announce new
	// mail to an IDLE client up to half a second late; a NOOP makes them look
	// at once. Zero: pure IDLE.
	IdleWakeup time.Duration
	// BusyPoll, when > 0, is how often the watching connection sends a
	// NOOP, without IDLE, while requests keep arriving (new mail reported
	// within the last BusyFor): as soon as the first NOOP that follows a
	// delivery, rather than up to IdleWakeup later. Quiet, it idles again.
	// A NOOP costs less than leaving and re-entering IDLE, and polling only
	// while busy keeps the idle CPU low.
	BusyPoll time.Duration
	// BusyFor is how long after the last new mail the connection stays busy.
	// Zero: 5 s.
	BusyFor time.Duration
	// Timeout bounds every command and the dial. Zero: 30 s.
	Timeout time.Duration
	// TLSConfig is used for "tls" and "starttls"; nil: system defaults with
	// ServerName taken from Address.
	TLSConfig *tls.Config
	// Dial replaces net.Dialer.DialContext, for tests.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (cfg *IMAPConfig) timeout() time.Duration {
	if cfg.Timeout <= 0 {
		return 30 * time.Second
	}
	return cfg.Timeout
}

// conn is one logged-in IMAP connection with deadlines on the socket, since
// go-imap has no read timeout of its own.
type conn struct {
	raw net.Conn
	c   *imapclient.Client
	cfg *IMAPConfig
}

func dial(ctx context.Context, cfg *IMAPConfig, handler *imapclient.UnilateralDataHandler) (*conn, error) {
	dialFn := cfg.Dial
	if dialFn == nil {
		d := &net.Dialer{Timeout: cfg.timeout()}
		dialFn = d.DialContext
	}
	raw, err := dialFn(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("imap: connect to %s: %w", cfg.Address, err)
	}
	opts := &imapclient.Options{UnilateralDataHandler: handler}
	tlsConfig := cfg.TLSConfig
	if tlsConfig == nil {
		host, _, _ := net.SplitHostPort(cfg.Address)
		tlsConfig = &tls.Config{ServerName: host}
	}
	opts.TLSConfig = tlsConfig
	raw.SetDeadline(time.Now().Add(cfg.timeout()))
	var c *imapclient.Client
	switch cfg.TLS {
	case "", "none":
		c = imapclient.New(raw, opts)
	case "tls":
		tc := tls.Client(raw, tlsConfig)
		c = imapclient.New(tc, opts)
	case "starttls":
		c, err = imapclient.NewStartTLS(raw, opts)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("imap: STARTTLS with %s: %w", cfg.Address, err)
		}
	default:
		raw.Close()
		return nil, fmt.Errorf("imap: tls mode %q: want none, starttls or tls", cfg.TLS)
	}
	cn := &conn{raw: raw, c: c, cfg: cfg}
	if err := c.WaitGreeting(); err != nil {
		cn.close()
		return nil, fmt.Errorf("imap: greeting from %s: %w", cfg.Address, err)
	}
	if err := c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		cn.close()
		return nil, fmt.Errorf("imap: login as %s: %w", cfg.Username, err)
	}
	raw.SetDeadline(time.Time{})
	return cn, nil
}

// do runs one command exchange under the configured timeout.
func (cn *conn) do(f func() error) error {
	cn.raw.SetDeadline(time.Now().Add(cn.cfg.timeout()))
	defer cn.raw.SetDeadline(time.Time{})
	return f()
}

func (cn *conn) close() error {
	cn.raw.SetDeadline(time.Now().Add(time.Second))
	err := cn.c.Logout().Wait()
	cn.c.Close()
	return err
}

// Session is the work connection: it lists, fetches and moves messages of the
// service mailbox by UID. It is not safe for concurrent use.
type Session struct {
	cn          *conn
	uidValidity uint32
}

// OpenSession connects, logs in and selects cfg.Mailbox.
func OpenSession(ctx context.Context, cfg *IMAPConfig) (*Session, error) {
	cn, err := dial(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	s := &Session{cn: cn}
	var data *imap.SelectData
	err = cn.do(func() (err error) {
		data, err = cn.c.Select(cfg.Mailbox, nil).Wait()
		return err
	})
	if err != nil {
		cn.close()
		return nil, fmt.Errorf("imap: select %s: %w", cfg.Mailbox, err)
	}
	s.uidValidity = data.UIDValidity
	return s, nil
}

// UIDValidity is the selected mailbox's UIDVALIDITY: UIDs are meaningful
// only together with it.
func (s *Session) UIDValidity() uint32 { return s.uidValidity }

// Close logs out.
func (s *Session) Close() error { return s.cn.close() }

// EnsureFolders creates the folders that do not exist yet.
func (s *Session) EnsureFolders(names ...string) error {
	var have []*imap.ListData
	err := s.cn.do(func() (err error) {
		have, err = s.cn.c.List("", "*", nil).Collect()
		return err
	})
	if err != nil {
		return fmt.Errorf("imap: list folders: %w", err)
	}
	for _, name := range names {
		if slices.ContainsFunc(have, func(l *imap.ListData) bool { return strings.EqualFold(l.Mailbox, name) }) {
			continue
		}
		err := s.cn.do(func() error { return s.cn.c.Create(name, nil).Wait() })
		if err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("imap: create folder %s: %w", name, err)
		}
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists
}

// UIDs lists every message in the mailbox, oldest first. The daemon moves
// each message out once handled, so what is here is what is left to do.
//
// It asks for news (NOOP) before it searches: a server may leave out of a
// SEARCH the messages delivered by another session since its last
// command, until it has announced them (Dovecot does), and such a request
// would wait for the next poll.
func (s *Session) UIDs() ([]uint32, error) {
	var data *imap.SearchData
	err := s.cn.do(func() (err error) {
		if err := s.cn.c.Noop().Wait(); err != nil {
			return err
		}
		data, err = s.cn.c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("imap: search: %w", err)
	}
	uids := data.AllUIDs()
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	slices.Sort(out)
	return out, nil
}

// Fetched is one message read from the mailbox. Raw is nil when the message
// is larger than the limit given to Fetch: it is then not downloaded.
type Fetched struct {
	UID  uint32
	Size int64
	Raw  []byte
}

// Fetch reads the given messages, without setting \Seen. Messages over
// maxBytes are listed with their size only. A message expunged meanwhile is
// simply absent from the result.
func (s *Session) Fetch(uids []uint32, maxBytes int64) ([]Fetched, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	var sizes []*imapclient.FetchMessageBuffer
	err := s.cn.do(func() (err error) {
		sizes, err = s.cn.c.Fetch(uidSet(uids), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("imap: fetch sizes: %w", err)
	}
	out := make([]Fetched, 0, len(sizes))
	var want []uint32
	for _, m := range sizes {
		f := Fetched{UID: uint32(m.UID), Size: m.RFC822Size}
		if maxBytes <= 0 || f.Size <= maxBytes {
			want = append(want, f.UID)
		}
		out = append(out, f)
	}
	if len(want) > 0 {
		section := &imap.FetchItemBodySection{Peek: true}
		var bodies []*imapclient.FetchMessageBuffer
		err := s.cn.do(func() (err error) {
			bodies, err = s.cn.c.Fetch(uidSet(want), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("imap: fetch messages: %w", err)
		}
		byUID := make(map[uint32][]byte, len(bodies))
		for _, b := range bodies {
			byUID[uint32(b.UID)] = b.FindBodySection(section)
		}
		for i := range out {
			if raw, ok := byUID[out[i].UID]; ok {
				out[i].Raw = raw
			}
		}
	}
	slices.SortFunc(out, func(a, b Fetched) int { return int(a.UID) - int(b.UID) })
	return out, nil
}

// Move moves messages to folder (MOVE, or COPY+STORE+EXPUNGE on servers
// without it).
func (s *Session) Move(uids []uint32, folder string) error {
	if len(uids) == 0 {
		return nil
	}
	err := s.cn.do(func() error {
		_, err := s.cn.c.Move(uidSet(uids), folder).Wait()
		return err
	})
	if err != nil {
		return fmt.Errorf("imap: move %d message(s) to %s: %w", len(uids), folder, err)
	}
	return nil
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

// Watch keeps an IDLE connection on cfg.Mailbox, on a connection of its own,
// and sends on wake (without blocking) whenever the mailbox may have new
// mail. Every cfg.IdleWakeup it leaves IDLE for a NOOP, which both makes
// lazy servers report news and proves the connection alive; while mail
// keeps arriving it polls with NOOP every cfg.BusyPoll instead (see
// IMAPConfig). It returns when ctx is done (nil) or the connection fails
// (the error): the caller reconnects.
func Watch(ctx context.Context, cfg *IMAPConfig, wake chan<- struct{}) error {
	var news atomic.Int64 // when the server last reported new mail (Unix ns)
	// newsc makes IDLE end at new mail, for the polling to start.
	var newsc chan struct{}
	if cfg.BusyPoll > 0 {
		newsc = make(chan struct{}, 1)
	}
	notify := func() {
		news.Store(time.Now().UnixNano())
		select {
		case wake <- struct{}{}:
		default:
		}
		select {
		case newsc <- struct{}{}:
		default:
		}
	}
	// The handler runs on the client's reader goroutine and blocks it
	// while running: it only hands the event on.
	handler := &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil {
				notify()
			}
		},
	}
	cn, err := dial(ctx, cfg, handler)
	if err != nil {
		return err
	}
	defer cn.close()
	if err := cn.do(func() error { _, err := cn.c.Select(cfg.Mailbox, nil).Wait(); return err }); err != nil {
		return fmt.Errorf("imap idle: select %s: %w", cfg.Mailbox, err)
	}
	notify() // whatever arrived before we were watching
	busyFor := cfg.BusyFor
	if busyFor <= 0 {
		busyFor = 5 * time.Second
	}
	busy := func() bool {
		return cfg.BusyPoll > 0 && time.Since(time.Unix(0, news.Load())) < busyFor
	}
	for {
		var err error
		if busy() {
			err = cn.poll(ctx, cfg.BusyPoll)
		} else {
			err = cn.idle(ctx, cfg.IdleWakeup, newsc)
		}
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// poll waits every, then sends a NOOP.
func (cn *conn) poll(ctx context.Context, every time.Duration) error {
	t := time.NewTimer(every)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-cn.c.Closed():
		return errors.New("imap idle: connection closed by the server")
	case <-t.C:
	}
	if err := cn.do(func() error { return cn.c.Noop().Wait() }); err != nil {
		return fmt.Errorf("imap idle: %w", err)
	}
	return nil
}

// idle waits in IDLE for wakeup (for ever when zero) or news, then leaves
// it and sends a NOOP.
func (cn *conn) idle(ctx context.Context, wakeup time.Duration, news <-chan struct{}) error {
	var tick <-chan time.Time
	if wakeup > 0 {
		t := time.NewTimer(wakeup)
		defer t.Stop()
		tick = t.C
	}
	idle, err := cn.c.Idle()
	if err != nil {
		return fmt.Errorf("imap idle: %w", err)
	}
	select {
	case <-ctx.Done():
		cn.raw.SetDeadline(time.Now().Add(time.Second))
		idle.Close()
		return nil
	case <-cn.c.Closed():
		return errors.New("imap idle: connection closed by the server")
	case <-tick:
	case <-news:
	}
	// The NOOP follows DONE without waiting for IDLE's completion: one
	// round trip for both, as an idle daemon makes one every wakeup.
	err = cn.do(func() error {
		if err := idle.Close(); err != nil {
			return err
		}
		noop := cn.c.Noop()
		if err := idle.Wait(); err != nil {
			noop.Wait()
			return err
		}
		return noop.Wait()
	})
	if err != nil {
		return fmt.Errorf("imap idle: %w", err)
	}
	return nil
}
