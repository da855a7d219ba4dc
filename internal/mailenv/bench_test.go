package mailenv_test

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/cpam/attestd/internal/mailenv"
)

// These benchmarks measure how long Dovecot takes to tell a client about new
// mail (ns/op: from the APPEND on another connection to the EXISTS), which is
// what deploy/README.md reports. They run against the servers of
// .ci/servers.sh and skip without them.

// watch logs in, selects INBOX and returns the client and a channel that
// receives every EXISTS count.
func watch(b *testing.B, env *mailenv.Env) (*imapclient.Client, <-chan uint32) {
	b.Helper()
	exists := make(chan uint32, 16)
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil {
				exists <- *data.NumMessages
			}
		},
	}}
	c, err := env.DialIMAP(b.Context(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	return c, exists
}

// appender logs in on a second connection and returns a function that appends
// one message to INBOX.
func appender(b *testing.B, env *mailenv.Env) func() {
	b.Helper()
	c, err := env.DialIMAP(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	raw := testMessage("bench", "bench@test.example")
	return func() {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDovecotIdleNewMail waits in IDLE: Dovecot 2.3 waits 500 ms after
// its inotify event before it reports (about 500 ms/op).
func BenchmarkDovecotIdleNewMail(b *testing.B) {
	env := mailenv.Require(b)
	if err := env.ResetIMAP(b.Context()); err != nil {
		b.Fatal(err)
	}
	c, exists := watch(b, env)
	add := appender(b, env)
	idle, err := c.Idle()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		add()
		<-exists
	}
	if err := idle.Close(); err != nil {
		b.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDovecotNoopNewMail sends NOOP every 20 ms instead of IDLE: a NOOP
// syncs the mailbox at once (about 10-20 ms/op).
func BenchmarkDovecotNoopNewMail(b *testing.B) {
	env := mailenv.Require(b)
	if err := env.ResetIMAP(b.Context()); err != nil {
		b.Fatal(err)
	}
	c, exists := watch(b, env)
	add := appender(b, env)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for b.Loop() {
		add()
	wait:
		for {
			select {
			case <-exists:
				break wait
			case <-tick.C:
				if err := c.Noop().Wait(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
