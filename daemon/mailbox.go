package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/store"
)

// intake is the intake of one mailbox (one entry of imap.mailboxes): its
// IDLE and work connections, run only while this replica holds the
// mailbox's lease. Every intake of a daemon shares its queue, decider,
// SMTP sender and workers.
type intake struct {
	d    *Daemon
	box  config.Mailbox
	imap inbox.IMAPConfig

	wake     chan struct{} // the mailbox may have news
	sentWake chan struct{} // a reply went out: its original may move
}

func newIntake(d *Daemon, box config.Mailbox, password string, o *Options) *intake {
	c := d.cfg.IMAP
	return &intake{
		d: d, box: box, wake: make(chan struct{}, 1), sentWake: make(chan struct{}, 1),
		imap: inbox.IMAPConfig{
			Address: box.Address, TLS: box.TLS, Username: box.Username, Password: password,
			Mailbox: box.Mailbox, IdleWakeup: c.IdleWakeup.D(), BusyPoll: c.BusyPoll.D(),
			Timeout:   c.Timeout.D(),
			TLSConfig: o.IMAPTLS,
		},
	}
}

// run holds the mailbox's lease and serves it, until ctx is done: then it
// finishes what is in flight and releases the lease. A lease lost
// meanwhile stops the sessions; run waits for the lease to be free again.
func (b *intake) run(ctx context.Context) {
	for ctx.Err() == nil {
		l, since := b.acquire(ctx)
		if l == nil {
			return
		}
		b.d.log.Info("mailbox lease acquired: this replica watches the mailbox", "mailbox", b.box.Name, "epoch", l.Epoch)
		b.d.obs.MailboxHeld(b.box.Name, true)
		// The sessions stop when ctx is done or the lease is lost; the
		// messages in flight are finished on a stop, abandoned (store and
		// SMTP calls cancelled) on a loss: the new holder has them.
		leased := store.WithLease(ctx, *l)
		held, stopSessions := context.WithCancel(leased)
		work, abandon := context.WithCancel(context.WithoutCancel(leased))
		lost := func() { abandon(); stopSessions() }
		stop, kept := make(chan struct{}), make(chan struct{})
		go func() { defer close(kept); b.keep(stop, *l, since, lost) }()
		b.serve(held, work)
		close(stop)
		<-kept
		lost()
		if ctx.Err() != nil {
			b.release(*l)
			return
		}
		b.d.obs.MailboxHeld(b.box.Name, false)
	}
}

// serve runs the IDLE and work connections until ctx is done, then
// finishes the messages in flight under work.
func (b *intake) serve(ctx, work context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.watchLoop(ctx) }()
	b.workLoop(ctx, work)
	wg.Wait()
}

// watchLoop keeps the IDLE connection up, reconnecting with back-off.
func (b *intake) watchLoop(ctx context.Context) {
	// Watch reports on news as soon as it is connected: the first news
	// tells the observer that the IDLE connection is up.
	news := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-news:
				b.d.obs.IMAPConnection(b.box.Name, "idle", true)
				signal(b.wake)
			}
		}
	}()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		start := time.Now()
		err := inbox.Watch(ctx, &b.imap, news)
		b.d.obs.IMAPConnection(b.box.Name, "idle", false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			attempt = 0
		}
		b.d.log.Warn("imap idle connection lost, reconnecting", "mailbox", b.box.Name, "err", err, "attempt", attempt+1)
		signal(b.wake) // poll at once on the work connection
		if !sleep(ctx, reconnect.Backoff(attempt+1)) {
			return
		}
	}
}

// workLoop keeps the work connection up and sweeps the mailbox whenever it
// may have news, and every poll interval anyway.
func (b *intake) workLoop(ctx, work context.Context) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		start := time.Now()
		err := b.session(ctx, work)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			attempt = 0 // it had been up: start the back-off afresh
		}
		b.d.log.Warn("imap work connection lost, reconnecting", "mailbox", b.box.Name, "err", err, "attempt", attempt+1)
		if !sleep(ctx, reconnect.Backoff(attempt+1)) {
			return
		}
	}
}

func (b *intake) session(ctx, work context.Context) error {
	s, err := inbox.OpenSession(ctx, &b.imap)
	if err != nil {
		return err
	}
	defer s.Close()
	b.d.obs.IMAPConnection(b.box.Name, "work", true)
	defer b.d.obs.IMAPConnection(b.box.Name, "work", false)
	f := b.box.Folders
	if err := s.EnsureFolders(f.Processed, f.Manual, f.Quarantine); err != nil {
		return err
	}
	b.d.log.Info("imap connected", "mailbox", b.box.Name, "folder", b.box.Mailbox, "uidvalidity", s.UIDValidity())
	poll := time.NewTicker(b.d.cfg.IMAP.PollInterval.D())
	defer poll.Stop()
	w := newWorker(b, s)
	for {
		if err := w.sweep(ctx, work); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		case <-b.sentWake:
		case <-poll.C:
		}
	}
}

// mailboxPasswords reads every mailbox's password, or gives each the one
// of o (the demo's and the tests' servers).
func mailboxPasswords(cfg config.Config, o *Options) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range cfg.Mailboxes() {
		if o.IMAPPassword != "" {
			out[m.Name] = o.IMAPPassword
			continue
		}
		pw, err := m.Secret.Password()
		if err != nil {
			return nil, fmt.Errorf("imap password of mailbox %s: %w", m.Name, err)
		}
		out[m.Name] = pw
	}
	return out, nil
}

// intakeFor returns the intake of the mailbox named so (a ledger key's
// mailbox), or the first one for a name no longer configured.
func (d *Daemon) intakeFor(name string) *intake {
	for _, b := range d.boxes {
		if b.box.Name == name {
			return b
		}
	}
	return d.boxes[0]
}
