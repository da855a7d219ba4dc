package acceptance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPMailbox is an IMAP account: as the service mailbox ([Inbox]) it
// appends requests to its mailbox and finds them in the folders; as a
// mailbox receiving the replies ([Replies]) it finds them by In-Reply-To.
// It keeps one connection, opened on first use and again after an error.
// It is not safe for concurrent use.
type IMAPMailbox struct {
	server Server
	// TLSConfig is used with imaps://; nil: the system's roots, the URL's
	// host as server name.
	TLSConfig *tls.Config
	// Timeout bounds the dial and every command. Zero: 30 s.
	Timeout time.Duration

	raw     net.Conn
	c       *imapclient.Client
	fetched map[imap.UID][]byte // replies already downloaded, by UID in Mailbox
	uidVal  uint32
}

// NewIMAPMailbox returns the account of s; it connects on first use.
func NewIMAPMailbox(s Server) *IMAPMailbox {
	return &IMAPMailbox{server: s, fetched: map[imap.UID][]byte{}}
}

// Mailbox is the mailbox of the URL: where requests are appended, or where
// replies are looked for.
func (m *IMAPMailbox) Mailbox() string { return m.server.Mailbox }

// Close logs out.
func (m *IMAPMailbox) Close() error {
	if m.c == nil {
		return nil
	}
	m.raw.SetDeadline(time.Now().Add(time.Second))
	err := m.c.Logout().Wait()
	m.c.Close()
	m.c, m.raw = nil, nil
	return err
}

// Deliver appends raw to the mailbox.
func (m *IMAPMailbox) Deliver(ctx context.Context, raw []byte) error {
	return m.do(ctx, func(c *imapclient.Client) error {
		cmd := c.Append(m.server.Mailbox, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return fmt.Errorf("append to %s: %w", m.server.Mailbox, err)
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("append to %s: %w", m.server.Mailbox, err)
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("append to %s: %w", m.server.Mailbox, err)
		}
		return nil
	})
}

// Locate searches the mailbox, then folders, then every other folder of
// the account, for each Message-ID of ids. A folder that does not exist
// (yet) holds nothing.
func (m *IMAPMailbox) Locate(ctx context.Context, ids []string, folders []string) (map[string]string, error) {
	where := map[string]string{}
	err := m.do(ctx, func(c *imapclient.Client) error {
		boxes, err := c.List("", "*", nil).Collect()
		if err != nil {
			return fmt.Errorf("list folders: %w", err)
		}
		// The mailbox and the folders asked for first, then every other
		// folder: a message filed where it should not be is found too.
		order := append([]string{m.server.Mailbox}, folders...)
		for _, b := range boxes {
			if !slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) && !slices.ContainsFunc(order, func(f string) bool { return sameMailbox(f, b.Mailbox) }) {
				order = append(order, b.Mailbox)
			}
		}
		for _, folder := range order {
			exists := slices.ContainsFunc(boxes, func(b *imap.ListData) bool { return sameMailbox(b.Mailbox, folder) })
			if !exists {
				continue
			}
			if len(where) == len(ids) {
				break
			}
			if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
				return fmt.Errorf("examine %s: %w", folder, err)
			}
			var todo []string
			for _, id := range ids {
				if _, found := where[id]; !found {
					todo = append(todo, id)
				}
			}
			uids, err := searchAny(c, "Message-Id", todo)
			if err != nil {
				return fmt.Errorf("in %s: %w", folder, err)
			}
			if len(uids) == 0 {
				continue
			}
			msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Envelope: true}).Collect()
			if err != nil {
				return fmt.Errorf("fetch envelopes in %s: %w", folder, err)
			}
			for _, msg := range msgs {
				if msg.Envelope == nil {
					continue
				}
				if id := strings.Trim(msg.Envelope.MessageID, "<>"); slices.Contains(todo, id) {
					where[id] = folder
				}
			}
		}
		return nil
	})
	return where, err
}

// Find returns the messages of the mailbox whose In-Reply-To is one of ids.
func (m *IMAPMailbox) Find(ctx context.Context, ids []string) (map[string][]Reply, error) {
	found := map[string][]Reply{}
	err := m.do(ctx, func(c *imapclient.Client) error {
		sel, err := c.Select(m.server.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return fmt.Errorf("examine %s: %w", m.server.Mailbox, err)
		}
		if sel.UIDValidity != m.uidVal {
			m.uidVal, m.fetched = sel.UIDValidity, map[imap.UID][]byte{}
		}
		uids, err := searchAny(c, "In-Reply-To", ids)
		if err != nil {
			return err
		}
		raws, err := m.fetch(c, uids)
		if err != nil {
			return err
		}
		for _, raw := range raws {
			// SEARCH HEADER matches substrings: keep exact matches.
			id := strings.Trim(strings.TrimSpace(headerOf(raw, "In-Reply-To")), "<>")
			if slices.Contains(ids, id) {
				found[id] = append(found[id], Reply{Raw: raw})
			}
		}
		return nil
	})
	return found, err
}

// fetch returns the messages of uids, downloading those not seen before.
func (m *IMAPMailbox) fetch(c *imapclient.Client, uids []imap.UID) ([][]byte, error) {
	var missing imap.UIDSet
	for _, u := range uids {
		if _, ok := m.fetched[u]; !ok {
			missing.AddNum(u)
		}
	}
	if len(missing) > 0 {
		body := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(missing, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
		if err != nil {
			return nil, fmt.Errorf("fetch replies from %s: %w", m.server.Mailbox, err)
		}
		for _, msg := range msgs {
			m.fetched[msg.UID] = msg.FindBodySection(body)
		}
	}
	var out [][]byte
	for _, u := range uids {
		if raw, ok := m.fetched[u]; ok {
			out = append(out, raw)
		}
	}
	return out, nil
}

// searchAny returns the UIDs of the selected mailbox's messages whose
// header field key contains any of values: one SEARCH, ORs nested two by
// two (RFC 3501 section 6.4.4).
func searchAny(c *imapclient.Client, key string, values []string) ([]imap.UID, error) {
	if len(values) == 0 {
		return nil, nil
	}
	criteria := anyHeader(key, values)
	data, err := c.UIDSearch(&criteria, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", key, err)
	}
	return data.AllUIDs(), nil
}

func anyHeader(key string, values []string) imap.SearchCriteria {
	if len(values) == 1 {
		return imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: key, Value: values[0]}}}
	}
	half := len(values) / 2
	return imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{anyHeader(key, values[:half]), anyHeader(key, values[half:])}}}
}

// sameMailbox compares mailbox names, INBOX in any case.
func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, "INBOX") {
		return strings.EqualFold(b, "INBOX")
	}
	return a == b
}

// do runs f on the connection, dialling it first if needed, under the
// timeout; after an error the connection is dropped, to be opened again by
// the next call.
func (m *IMAPMailbox) do(ctx context.Context, f func(c *imapclient.Client) error) error {
	if m.c == nil {
		if err := m.dial(ctx); err != nil {
			return err
		}
	}
	m.raw.SetDeadline(time.Now().Add(m.timeout()))
	stop := context.AfterFunc(ctx, func() { m.raw.SetDeadline(time.Now()) })
	err := f(m.c)
	stop()
	if err != nil {
		m.c.Close()
		m.c, m.raw = nil, nil
		return fmt.Errorf("imap %s as %s: %w", m.server.Addr, m.server.Username, errors.Join(ctx.Err(), err))
	}
	m.raw.SetDeadline(time.Time{})
	return nil
}

func (m *IMAPMailbox) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: m.timeout()}
	raw, err := d.DialContext(ctx, "tcp", m.server.Addr)
	if err != nil {
		return fmt.Errorf("imap: connect to %s: %w", m.server.Addr, err)
	}
	raw.SetDeadline(time.Now().Add(m.timeout()))
	conn := raw
	if m.server.TLS {
		cfg := m.TLSConfig
		if cfg == nil {
			host, _, _ := net.SplitHostPort(m.server.Addr)
			cfg = &tls.Config{ServerName: host}
		}
		conn = tls.Client(raw, cfg)
	}
	c := imapclient.New(conn, nil)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return fmt.Errorf("imap: greeting from %s: %w", m.server.Addr, err)
	}
	if err := c.Login(m.server.Username, m.server.Password).Wait(); err != nil {
		c.Close()
		return fmt.Errorf("imap: login to %s as %s: %w", m.server.Addr, m.server.Username, err)
	}
	raw.SetDeadline(time.Time{})
	m.raw, m.c = raw, c
	return nil
}

func (m *IMAPMailbox) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return 30 * time.Second
}
