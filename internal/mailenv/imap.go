package mailenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// DialIMAP connects to e.IMAPAddr without TLS and logs in as e.IMAPUser. ctx
// bounds the dial and the login only; the caller logs out and closes the
// client. options may be nil.
func (e *Env) DialIMAP(ctx context.Context, options *imapclient.Options) (*imapclient.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.IMAPAddr)
	if err != nil {
		return nil, fmt.Errorf("connecting to IMAP server %s: %w (is Dovecot running? .ci/servers.sh start)", e.IMAPAddr, err)
	}
	c := imapclient.New(conn, options)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(e.IMAPUser, e.IMAPPassword).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("logging in to IMAP server %s as %s: %w", e.IMAPAddr, e.IMAPUser, errors.Join(ctx.Err(), err))
	}
	return c, nil
}

// AppendIMAP stores raw, a whole RFC 5322 message, in mailbox (created when
// missing) and returns its UID.
func (e *Env) AppendIMAP(ctx context.Context, mailbox string, raw []byte) (imap.UID, error) {
	var uid imap.UID
	err := e.withIMAP(ctx, func(c *imapclient.Client) error {
		data, err := appendMessage(c, mailbox, raw)
		if err != nil {
			if !hasCode(err, imap.ResponseCodeTryCreate) {
				return err
			}
			if err := c.Create(mailbox, nil).Wait(); err != nil {
				return fmt.Errorf("creating mailbox %q: %w", mailbox, err)
			}
			if data, err = appendMessage(c, mailbox, raw); err != nil {
				return err
			}
		}
		uid = data.UID
		return nil
	})
	return uid, err
}

func appendMessage(c *imapclient.Client, mailbox string, raw []byte) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return nil, fmt.Errorf("appending to %q: %w", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("appending to %q: %w", mailbox, err)
	}
	data, err := cmd.Wait()
	if err != nil {
		return nil, fmt.Errorf("appending to %q: %w", mailbox, err)
	}
	return data, nil
}

// ResetIMAP empties the mailbox of e.IMAPUser: it expunges every message of
// INBOX and deletes every other folder with its messages, children first.
// Afterwards LIST shows INBOX alone, with no message.
func (e *Env) ResetIMAP(ctx context.Context) error {
	return e.withIMAP(ctx, func(c *imapclient.Client) error {
		boxes, err := c.List("", "*", nil).Collect()
		if err != nil {
			return fmt.Errorf("listing mailboxes: %w", err)
		}
		sort.Slice(boxes, func(i, j int) bool { return depth(boxes[i]) > depth(boxes[j]) })
		for _, box := range boxes {
			if strings.EqualFold(box.Mailbox, "INBOX") {
				continue
			}
			// A \Noselect parent may vanish with its last child (Maildir++).
			if err := c.Delete(box.Mailbox).Wait(); err != nil && !hasCode(err, imap.ResponseCodeNonExistent) {
				return fmt.Errorf("deleting mailbox %q: %w", box.Mailbox, err)
			}
		}
		return expungeAll(c, "INBOX")
	})
}

// hasCode reports whether err is an IMAP NO or BAD with the response code code.
func hasCode(err error, code imap.ResponseCode) bool {
	var imapErr *imap.Error
	return errors.As(err, &imapErr) && imapErr.Code == code
}

// depth is how deep box sits in the folder tree: 0 for a top-level folder.
func depth(box *imap.ListData) int {
	if box.Delim == 0 {
		return 0
	}
	return strings.Count(box.Mailbox, string(box.Delim))
}

// expungeAll removes every message of mailbox.
func expungeAll(c *imapclient.Client, mailbox string) error {
	sel, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("selecting %q: %w", mailbox, err)
	}
	if sel.NumMessages > 0 {
		var all imap.SeqSet
		all.AddRange(1, 0) // 1:*
		flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := c.Store(all, flags, nil).Close(); err != nil {
			return fmt.Errorf("flagging the messages of %q deleted: %w", mailbox, err)
		}
		if err := c.Expunge().Close(); err != nil {
			return fmt.Errorf("expunging %q: %w", mailbox, err)
		}
	}
	if err := c.Unselect().Wait(); err != nil {
		return fmt.Errorf("unselecting %q: %w", mailbox, err)
	}
	return nil
}

// withIMAP logs in, runs f and logs out; cancelling ctx closes the connection.
func (e *Env) withIMAP(ctx context.Context, f func(c *imapclient.Client) error) error {
	c, err := e.DialIMAP(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := f(c); err != nil {
		return fmt.Errorf("IMAP %s as %s: %w", e.IMAPAddr, e.IMAPUser, errors.Join(ctx.Err(), err))
	}
	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("IMAP %s: logging out: %w", e.IMAPAddr, errors.Join(ctx.Err(), err))
	}
	return nil
}

// FetchIMAP returns the whole raw messages of mailbox, in UID order, without
// marking them seen. A mailbox that does not exist holds no message: nil.
func (e *Env) FetchIMAP(ctx context.Context, mailbox string) ([][]byte, error) {
	var out [][]byte
	err := e.withIMAP(ctx, func(c *imapclient.Client) error {
		// Dovecot answers a SELECT of a missing mailbox with a bare NO (no
		// [NONEXISTENT] code): ask LIST first.
		boxes, err := c.List("", mailbox, nil).Collect()
		if err != nil {
			return fmt.Errorf("listing %q: %w", mailbox, err)
		}
		if len(boxes) == 0 {
			return nil
		}
		sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return fmt.Errorf("selecting %q: %w", mailbox, err)
		}
		if sel.NumMessages == 0 {
			return nil
		}
		var all imap.SeqSet
		all.AddRange(1, 0) // 1:*
		body := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
		if err != nil {
			return fmt.Errorf("fetching the messages of %q: %w", mailbox, err)
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
		for _, m := range msgs {
			out = append(out, m.FindBodySection(body))
		}
		return nil
	})
	return out, err
}
