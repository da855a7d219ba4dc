package acceptance_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/acceptance"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

const (
	serviceUser = "attestation@cpam.example"
	qaUser      = "qa@cpam.example"
)

// startDaemon runs attestd, configured as the samples assume and at their
// date, on the given servers until the test ends.
func startDaemon(t *testing.T, imapAddr, user, password, smtpAddr string) {
	t.Helper()
	exp := samples.ExpectedCases()
	cfg := loadgen.SampleConfig(exp)
	cfg.IMAP.Address, cfg.IMAP.Username = imapAddr, user
	cfg.IMAP.PollInterval = config.Duration(time.Second)
	cfg.IMAP.IdleWakeup = config.Duration(50 * time.Millisecond)
	cfg.SMTP.Address = smtpAddr
	cfg.Outbox.RetryInitial = config.Duration(100 * time.Millisecond)
	cfg.Outbox.RetryMax = config.Duration(time.Second)

	d, err := daemon.New(cfg, daemon.Options{
		Store: sampledb.SQLite(t), IMAPPassword: password, Today: rules.MustDate(exp.Today),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		d.Close()
	})
}

// localDeployment is attestd on in-process servers, with a QA mailbox on
// the same IMAP server.
type localDeployment struct {
	imap *localmail.IMAPServer
	smtp *localmail.SMTPServer
}

func newLocalDeployment(t *testing.T) *localDeployment {
	t.Helper()
	imapSrv, smtpSrv := testkit.MailServers(t, map[string]string{serviceUser: "secret", qaUser: "qa-secret"})
	startDaemon(t, imapSrv.Addr(), serviceUser, "secret", smtpSrv.Addr())
	return &localDeployment{imap: imapSrv, smtp: smtpSrv}
}

// newLocalRunner is a Runner against a new localDeployment: it delivers
// the requests to the service's INBOX and reads the replies relayed to the
// QA mailbox.
func newLocalRunner(t *testing.T, timeout time.Duration) *acceptance.Runner {
	t.Helper()
	l := newLocalDeployment(t)
	inbox := acceptance.NewIMAPMailbox(acceptance.Server{Addr: l.imap.Addr(), Username: serviceUser, Password: "secret", Mailbox: "INBOX"})
	t.Cleanup(func() { inbox.Close() })
	qa := acceptance.NewIMAPMailbox(acceptance.Server{Addr: l.imap.Addr(), Username: qaUser, Password: "qa-secret", Mailbox: "INBOX"})
	t.Cleanup(func() { qa.Close() })
	return &acceptance.Runner{Inbox: inbox, Replies: &relayedToQA{l: l, qa: qa}, Timeout: timeout}
}

// relayedToQA reads the replies from the QA user's IMAP INBOX, into which
// it copies what the SMTP server received: the relay of a QA environment
// that routes every reply to one mailbox.
type relayedToQA struct {
	l      *localDeployment
	copied int
	qa     *acceptance.IMAPMailbox
}

func (r *relayedToQA) Find(ctx context.Context, ids []string) (map[string][]acceptance.Reply, error) {
	msgs := r.l.smtp.Messages()
	for ; r.copied < len(msgs); r.copied++ {
		if _, err := r.l.imap.Append(qaUser, "INBOX", msgs[r.copied].Raw); err != nil {
			return nil, err
		}
	}
	return r.qa.Find(ctx, ids)
}

func runAll(t *testing.T, r *acceptance.Runner, cases *acceptance.Cases) (string, []acceptance.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results, err := r.Run(ctx, cases)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	acceptance.Report(&out, results)
	return out.String(), results
}

func TestRunnerPassesTheSamplesOnInProcessServers(t *testing.T) {
	r := newLocalRunner(t, time.Minute)
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	r.Registry = reg

	report, _ := runAll(t, r, acceptance.SampleCases())

	if !strings.HasSuffix(report, "\n22 passed, 0 failed\n") {
		t.Errorf("report:\n%s", report)
	}
}

func TestRunnerReportsAWrongExpectation(t *testing.T) {
	r := newLocalRunner(t, 20*time.Second)
	cases := casesNamed(t, "01-eva-simple.eml", "02-benoit-famille-mentions.eml", "16-usurpation.eml")
	cases.List[0].Want.Beneficiaries = []string{"EVA", "ZOÉ"}
	cases.List[1].Want.Mentions = map[string][]string{"BENOIT": {"C2S"}}
	cases.List[2].Want.Folder = "Quarantine"

	report, results := runAll(t, r, cases)

	wantFailures(t, results[0], "PDF lists [EVA], want [EVA ZOÉ]")
	wantFailures(t, results[1], "PDF gives BENOIT the mentions [ETM C2S], want [C2S]",
		"PDF gives CLAIRE the mentions [C2S], want []", "PDF gives LUCAS the mentions [ETM C2S], want []", "PDF gives LÉA the mentions [C2S], want []")
	wantFailures(t, results[2], "original filed in Manual, want Quarantine")
	if !strings.HasSuffix(report, "\n0 passed, 3 failed\n") {
		t.Errorf("report:\n%s", report)
	}
}

func TestSMTPDeliverySubmitsToTheServiceAddress(t *testing.T) {
	srv := testkit.SMTP(t)
	s := &acceptance.SMTPDelivery{Server: acceptance.Server{Addr: srv.Addr()}, To: serviceUser}
	ctx := context.Background()
	for _, name := range []string{"01-eva-simple.eml", "15-rebond.eml"} {
		if err := s.Deliver(ctx, sample(t, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("%d messages received, want 2", len(got))
	}
	if got[0].From != "eva.dupont@example.org" || len(got[0].To) != 1 || got[0].To[0] != serviceUser ||
		!bytes.Equal(got[0].Raw, sample(t, "01-eva-simple.eml")) {
		t.Errorf("request: MAIL FROM %q RCPT TO %v, %d bytes", got[0].From, got[0].To, len(got[0].Raw))
	}
	if got[1].From != "" {
		t.Errorf("bounce: MAIL FROM %q, want the null sender", got[1].From)
	}
}
