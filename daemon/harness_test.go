package daemon_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
)

const serviceUser = "attestation@cpam.example"

var today = rules.MustDate("2026-11-25")

// sentMail is a message the SMTP side accepted.
type sentMail struct {
	To  []string
	Raw []byte
}

// mailEnv is a pair of mail servers the daemon talks to: in-process by
// default, Dovecot and Mailpit when the environment points at them.
type mailEnv interface {
	// configure points cfg at the servers and returns the IMAP password.
	configure(cfg *config.Config) string
	deliver(t testing.TB, raw []byte)
	sent(t testing.TB) []sentMail
	// folder returns the raw messages of a folder of the service mailbox.
	folder(t testing.TB, name string) [][]byte
}

// localEnv is the in-process pair: go-imap's memory server and a go-smtp
// server.
type localEnv struct {
	imap *localmail.IMAPServer
	smtp *localmail.SMTPServer
}

func newLocalEnv(t testing.TB) *localEnv {
	imapSrv, smtpSrv := testkit.MailServers(t, map[string]string{serviceUser: "secret"})
	return &localEnv{imap: imapSrv, smtp: smtpSrv}
}

func (e *localEnv) configure(cfg *config.Config) string {
	cfg.IMAP.Address, cfg.IMAP.Username = e.imap.Addr(), serviceUser
	cfg.SMTP.Address = e.smtp.Addr()
	return "secret"
}

func (e *localEnv) deliver(t testing.TB, raw []byte) {
	t.Helper()
	if _, err := e.imap.Append(serviceUser, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
}

func (e *localEnv) sent(t testing.TB) []sentMail {
	var out []sentMail
	for _, m := range e.smtp.Messages() {
		out = append(out, sentMail{To: m.To, Raw: m.Raw})
	}
	return out
}

func (e *localEnv) folder(t testing.TB, name string) [][]byte {
	t.Helper()
	snap, err := e.imap.Mailbox(serviceUser, name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range snap.Messages {
		out = append(out, m.Raw)
	}
	return out
}

// testConfig is the configuration the samples assume (expected.json).
func testConfig(t testing.TB) config.Config {
	cfg := loadgen.SampleConfig(nil)
	cfg.IMAP.PollInterval = config.Duration(time.Second)
	cfg.IMAP.IdleWakeup = config.Duration(50 * time.Millisecond)
	cfg.Outbox.RetryInitial = config.Duration(100 * time.Millisecond)
	cfg.Outbox.RetryMax = config.Duration(time.Second)
	return cfg
}

// logBuffer collects everything the daemon logs, for the privacy checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// running is a daemon started by a test.
type running struct {
	results chan daemon.Result
	stop    func()
	logs    *logBuffer
}

// start runs a daemon against env until the test ends (or stop).
func start(t testing.TB, env mailEnv, cfg config.Config, o daemon.Options) *running {
	t.Helper()
	cfg.IMAP.Username = serviceUser
	o.IMAPPassword = env.configure(&cfg)
	if o.Store == nil {
		o.Store = sampledb.SQLite(t)
	}
	logs := &logBuffer{}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.MultiWriter(logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.Today.IsZero() {
		o.Today = today
	}
	return launch(t, cfg, o, logs, func(err error) {
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// launch runs the daemon made of cfg and o until the test ends (or stop),
// which then hands what Run returned to ran (nil: ignored).
func launch(t testing.TB, cfg config.Config, o daemon.Options, logs *logBuffer, ran func(error)) *running {
	t.Helper()
	results := make(chan daemon.Result, 1024)
	o.Results = results
	d, err := daemon.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			err := <-done
			if ran != nil {
				ran(err)
			}
			d.Close()
		})
	}
	t.Cleanup(stop)
	return &running{results: results, stop: stop, logs: logs}
}

// collect waits for n results.
func (r *running) collect(t testing.TB, n int, timeout time.Duration) []daemon.Result {
	t.Helper()
	var out []daemon.Result
	timeout = patience(t, timeout)
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case res := <-r.results:
			out = append(out, res)
		case <-deadline:
			t.Fatalf("only %d of %d messages handled after %v", len(out), n, timeout)
		}
	}
	return out
}

// header reads one header of a raw message.
func header(t testing.TB, raw []byte, key string) string {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	defer r.Close()
	return r.Header.Get(key)
}

func msgIDOf(t testing.TB, raw []byte) string {
	return strings.Trim(strings.TrimSpace(header(t, raw, "Message-Id")), "<>")
}
