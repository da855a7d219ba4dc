package daemon_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/mailenv"
)

// realEnv is Dovecot (the service mailbox) and Mailpit (the relay, read
// back through its API), as .ci/servers.sh starts them. The servers are
// shared: tests that use them run one at a time (go test -p 1, no
// t.Parallel).
type realEnv struct {
	env *mailenv.Env
	mp  *mailenv.Mailpit
}

// newRealEnv finds the servers, or skips the test naming the missing
// variables, and empties both: INBOX alone and empty, no message in
// Mailpit, no chaos.
func newRealEnv(t testing.TB) *realEnv {
	t.Helper()
	env := mailenv.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := &realEnv{env: env, mp: env.Mailpit()}
	if err := env.ResetIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.mp.SetChaos(ctx, mailenv.ChaosTriggers{}); err != nil {
		t.Fatal(err)
	}
	if err := e.mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *realEnv) configure(cfg *config.Config) string {
	cfg.IMAP.Address, cfg.IMAP.Username = e.env.IMAPAddr, e.env.IMAPUser
	cfg.SMTP.Address = e.env.SMTPAddr
	return e.env.IMAPPassword
}

// deliver appends raw to the INBOX of the service mailbox.
func (e *realEnv) deliver(t testing.TB, raw []byte) {
	t.Helper()
	if _, err := e.env.AppendIMAP(context.Background(), "INBOX", raw); err != nil {
		t.Fatal(err)
	}
}

// sent returns every message Mailpit holds. Mailpit does not keep the SMTP
// envelope: it lists the header recipients (To, Cc, Bcc) and adds to Bcc
// every envelope recipient no header names. Their union is therefore the
// envelope when, and only when, the headers name no one beyond it, which
// is what the checks of a reply ask.
func (e *realEnv) sent(t testing.TB) []sentMail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := e.mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(msgs) // oldest first, the order they were sent
	var out []sentMail
	for _, m := range msgs {
		raw, err := e.mp.Raw(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, a := range slices.Concat(m.To, m.Cc, m.Bcc) {
			if addr := strings.ToLower(a.Address); !slices.Contains(to, addr) {
				to = append(to, addr)
			}
		}
		out = append(out, sentMail{To: to, Raw: raw})
	}
	return out
}

// folder returns the messages of a folder of the service mailbox.
func (e *realEnv) folder(t testing.TB, name string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := e.env.FetchIMAP(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestSamplesReal runs every sample of expected.json end to end through
// Dovecot and Mailpit, with the same checks as TestSamples.
func TestSamplesReal(t *testing.T) {
	runSamples(t, newRealEnv(t))
}

// TestSamplesMailpitChaos runs the samples while Mailpit answers 451 to
// about half of the RCPT TO commands: every reply must still arrive, once,
// through the outbox's retries.
func TestSamplesMailpitChaos(t *testing.T) {
	env := newRealEnv(t)
	ctx := context.Background()
	half := mailenv.ChaosTriggers{Recipient: mailenv.ChaosTrigger{ErrorCode: 451, Probability: 50}}
	if err := env.mp.SetChaos(ctx, half); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.mp.SetChaos(context.Background(), mailenv.ChaosTriggers{}); err != nil {
			t.Errorf("turning Mailpit's chaos off: %v", err)
		}
	})

	d := runSamples(t, env)

	// 18 replies at one chance in two each: all going through at the first
	// try (1 in 262144) would mean chaos was not in force.
	if n := strings.Count(d.logs.String(), `"msg":"outbox: temporary failure, will retry"`); n == 0 {
		t.Error("no temporary failure logged: Mailpit's chaos did not refuse a single recipient")
	} else {
		t.Logf("%d sends refused with 451 and retried", n)
	}
}
