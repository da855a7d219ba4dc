package acceptance_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/acceptance"
	"github.com/cpam/attestd/internal/mailenv"
	"github.com/cpam/attestd/samples"
)

// These tests run the acceptance runner against attestd on Dovecot and
// Mailpit (.ci/servers.sh) and skip without them. They share the servers:
// run them with go test -p 1.

// realServers empties Dovecot's mailboxes and Mailpit, and starts attestd on
// them with a fresh store.
func realServers(t *testing.T) *mailenv.Env {
	t.Helper()
	env := mailenv.Require(t)
	ctx := context.Background()
	qa := *env
	if env.QAUser != "" {
		qa.IMAPUser, qa.IMAPPassword = env.QAUser, env.QAPassword
	}
	for _, e := range []*mailenv.Env{env, &qa} {
		if err := e.ResetIMAP(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mp := env.Mailpit()
	if err := mp.SetChaos(ctx, mailenv.ChaosTriggers{}); err != nil {
		t.Fatal(err)
	}
	if err := mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, env.IMAPAddr, env.IMAPUser, env.IMAPPassword, env.SMTPAddr)
	return env
}

// serviceURL is the --imap URL of the service mailbox.
func serviceURL(env *mailenv.Env) string {
	u := url.URL{Scheme: "imap", User: url.UserPassword(env.IMAPUser, env.IMAPPassword), Host: env.IMAPAddr, Path: "/INBOX"}
	return u.String()
}

func TestAcceptanceAgainstDovecotAndMailpit(t *testing.T) {
	env := realServers(t)
	srv, err := acceptance.ParseIMAPURL(serviceURL(env), acceptance.EnvIMAPPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox := acceptance.NewIMAPMailbox(srv)
	defer inbox.Close()
	api, err := acceptance.ParseMailpitURL("mailpit+" + env.MailpitAPI)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := acceptance.NewMailpitReplies(context.Background(), api, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}

	r := &acceptance.Runner{Inbox: inbox, Replies: replies, Timeout: 30 * time.Second, Registry: reg}
	report, _ := runAll(t, r, acceptance.SampleCases())

	if !strings.HasSuffix(report, "\n22 passed, 0 failed\n") {
		t.Errorf("report:\n%s", report)
	}
}

// mailpitToQA reads the replies from Dovecot's QA mailbox, into which it
// copies what Mailpit received: the relay of a QA environment that routes
// every reply to one mailbox.
type mailpitToQA struct {
	mp     *mailenv.Mailpit
	qaEnv  mailenv.Env
	qa     *acceptance.IMAPMailbox
	copied map[string]bool
}

func (m *mailpitToQA) Find(ctx context.Context, ids []string) (map[string][]acceptance.Reply, error) {
	msgs, err := m.mp.Messages(ctx)
	if err != nil {
		return nil, err
	}
	for _, msg := range msgs {
		if m.copied[msg.ID] {
			continue
		}
		raw, err := m.mp.Raw(ctx, msg.ID)
		if err != nil {
			return nil, err
		}
		if _, err := m.qaEnv.AppendIMAP(ctx, "INBOX", raw); err != nil {
			return nil, err
		}
		m.copied[msg.ID] = true
	}
	return m.qa.Find(ctx, ids)
}

func TestAcceptanceWithRepliesInADovecotMailbox(t *testing.T) {
	env := realServers(t)
	if env.QAUser == "" {
		t.Skipf("%s not set: no QA mailbox", mailenv.EnvQAUser)
	}
	qaEnv := *env
	qaEnv.IMAPUser, qaEnv.IMAPPassword = env.QAUser, env.QAPassword
	srv, err := acceptance.ParseIMAPURL(serviceURL(env), acceptance.EnvIMAPPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox := acceptance.NewIMAPMailbox(srv)
	defer inbox.Close()
	qaSrv, err := acceptance.ParseIMAPURL(serviceURL(&qaEnv), acceptance.EnvRepliesPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	qa := acceptance.NewIMAPMailbox(qaSrv)
	defer qa.Close()

	r := &acceptance.Runner{Inbox: inbox, Replies: &mailpitToQA{mp: env.Mailpit(), qaEnv: qaEnv, qa: qa, copied: map[string]bool{}}, Timeout: 30 * time.Second}
	report, _ := runAll(t, r, acceptance.SampleCases())

	if !strings.HasSuffix(report, "\n22 passed, 0 failed\n") {
		t.Errorf("report:\n%s", report)
	}
}
