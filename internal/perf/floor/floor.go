// Package floor is the least a mail auto-responder can do with the same
// servers and libraries as attestd: it watches an IMAP mailbox, answers each
// message with a one-line reply carrying In-Reply-To over one reused SMTP
// connection, and moves the message away. No parsing, no rules, no PDF, no
// store. Its throughput and latency are the floor that attestd's are compared
// with (issue 14, docs/performance.md); keep it that way: anything added here
// makes attestd look better than it is.
package floor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/wneessen/go-mail"
)

// Options say where the floor reads and answers.
type Options struct {
	IMAP     string // host:port, plain text
	User     string
	Password string
	Mailbox  string // default INBOX
	Done     string // where answered messages go; default Done
	SMTPHost string
	SMTPPort int
	From     string // From of the replies; default User
	// Poll, when > 0, makes the floor send a NOOP at this interval instead
	// of waiting in IDLE: Dovecot 2.3 reports new mail to IDLE about 0.5 s
	// late, so 20 ms polling is the fair floor on it.
	Poll time.Duration
	// Ready is called once the floor is logged in and connected to SMTP.
	Ready func()
}

// Run answers until ctx ends or a server fails; it returns nil when ctx
// ended it.
func Run(ctx context.Context, o Options) error {
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.Done == "" {
		o.Done = "Done"
	}
	if o.From == "" {
		o.From = o.User
	}
	exists := make(chan struct{}, 1)
	c, err := imapclient.DialInsecure(o.IMAP, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case exists <- struct{}{}:
					default:
					}
				}
			},
		},
	})
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(o.User, o.Password).Wait(); err != nil {
		return err
	}
	_ = c.Create(o.Done, nil).Wait()
	if _, err := c.Select(o.Mailbox, nil).Wait(); err != nil {
		return err
	}
	sc, err := mail.NewClient(o.SMTPHost, mail.WithPort(o.SMTPPort), mail.WithTLSPolicy(mail.NoTLS))
	if err != nil {
		return err
	}
	if err := sc.DialWithContext(ctx); err != nil {
		return err
	}
	defer sc.Close()
	if o.Ready != nil {
		o.Ready()
	}
	err = loop(ctx, c, sc, o, exists)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// loop is the responder: answer and move everything, then wait.
func loop(ctx context.Context, c *imapclient.Client, sc *mail.Client, o Options, exists <-chan struct{}) error {
	for ctx.Err() == nil {
		data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			return err
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			if err := answer(c, sc, o, imap.UIDSetNum(uids...)); err != nil {
				return err
			}
			continue
		}
		if err := wait(ctx, c, o.Poll, exists); err != nil {
			return err
		}
	}
	return nil
}

// answer replies to the messages of set and moves them to o.Done.
func answer(c *imapclient.Client, sc *mail.Client, o Options, set imap.UIDSet) error {
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		return err
	}
	var out []*mail.Msg
	for _, m := range msgs {
		e := m.Envelope
		if e == nil || len(e.From) == 0 {
			continue
		}
		r := mail.NewMsg()
		if err := errors.Join(r.From(o.From), r.To(e.From[0].Addr())); err != nil {
			continue
		}
		r.Subject("Re: " + e.Subject)
		r.SetGenHeader(mail.HeaderInReplyTo, "<"+strings.Trim(e.MessageID, "<>")+">")
		r.SetMessageIDWithValue(fmt.Sprintf("floor-%d@floor.invalid", time.Now().UnixNano()))
		r.SetBodyString(mail.TypeTextPlain, "Bien reçu.")
		out = append(out, r)
	}
	if len(out) > 0 {
		if err := sc.Send(out...); err != nil {
			_ = sc.Reset()
		}
	}
	_, err = c.Move(set, o.Done).Wait()
	return err
}

// wait returns after a NOOP poll interval, or when IDLE reports new mail (at
// most 5 s).
func wait(ctx context.Context, c *imapclient.Client, poll time.Duration, exists <-chan struct{}) error {
	if poll > 0 {
		select {
		case <-time.After(poll):
		case <-ctx.Done():
			return nil
		}
		return c.Noop().Wait()
	}
	idle, err := c.Idle()
	if err != nil {
		return err
	}
	select {
	case <-exists:
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	if err := idle.Close(); err != nil {
		return err
	}
	return idle.Wait()
}
