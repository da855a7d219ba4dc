package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/passhash"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/metrics"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/web"
)

const (
	serviceUser = "attestation@cpam.example"
	apiToken    = "test-token-0123456789"
)

var today = rules.MustDate("2026-11-25")

// flakyStore is the store whose registry can be made unreachable, so that
// a message fails and ends in Manual (then is retried once it is back).
type flakyStore struct {
	*store.DB
	down atomic.Bool
}

var errDown = errors.New("registry unreachable (test)")

func (s *flakyStore) ComptesByEmail(ctx context.Context, email string) ([]*rules.Compte, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.DB.ComptesByEmail(ctx, email)
}

func (s *flakyStore) CompteByNIR(ctx context.Context, nir string) (*rules.Compte, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.DB.CompteByNIR(ctx, nir)
}

// env is a running daemon on in-process mail servers with its web server.
type env struct {
	db    *store.DB
	flaky *flakyStore
	imap  *localmail.IMAPServer
	smtp  *localmail.SMTPServer
	web   *httptest.Server
	cfg   config.Config

	daemon  *daemon.Daemon
	logger  *slog.Logger
	metrics *metrics.Metrics
}

func hash(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// newEnv starts everything; edit adjusts the configuration first. The
// daemon runs only when run is set (the API needs none of its loops).
func newEnv(t testing.TB, run bool, edit func(*config.Config)) *env {
	t.Helper()
	db := sampledb.SQLite(t)
	e := &env{db: db, flaky: &flakyStore{DB: db}}
	e.imap, e.smtp = testkit.MailServers(t, map[string]string{serviceUser: "secret"})
	cfg := loadgen.SampleConfig(nil)
	cfg.IMAP.Address, cfg.IMAP.Username, cfg.SMTP.Address = e.imap.Addr(), serviceUser, e.smtp.Addr()
	cfg.IMAP.PollInterval = config.Duration(200 * time.Millisecond)
	cfg.IMAP.IdleWakeup = config.Duration(50 * time.Millisecond)
	cfg.Store.Driver = "sqlite"
	cfg.Limits.MaxAttempts = 1
	cfg.HTTP.InsecureCookies = true
	cfg.Console.Users = []config.ConsoleUser{
		{Name: "alice", Role: config.RoleOperator, PasswordHash: hash(t, "alice-pw")},
		{Name: "victor", Role: config.RoleViewer, PasswordHash: passhash.Hash("victor-pw")}, // argon2id, alice's bcrypt
	}
	cfg.API.Clients = []config.APIClient{{Name: "site", TokenSHA256: web.TokenSHA256(apiToken)}}
	if edit != nil {
		edit(&cfg)
	}
	e.cfg = cfg
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.metrics = metrics.New(metrics.Options{OutboxDepth: db.OutboxDepth})
	d, err := daemon.New(cfg, daemon.Options{Store: e.flaky, Logger: logger, Today: today, IMAPPassword: "secret",
		Observer: e.metrics})
	if err != nil {
		t.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	t.Cleanup(func() { d.Close() })
	e.daemon, e.logger = d, logger
	e.serveWeb(t, nil)
	return e
}

// serveWeb (re)starts the web server with the clock now (nil: time.Now).
func (e *env) serveWeb(t testing.TB, now func() time.Time) {
	t.Helper()
	srv, err := web.New(web.Options{Config: e.cfg, Store: e.db, Daemon: e.daemon, Logger: e.logger, Now: now,
		Metrics: e.metrics.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	if e.web != nil {
		e.web.Close()
	}
	e.web = httptest.NewServer(srv.Handler())
	t.Cleanup(e.web.Close)
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see them.
type browser struct {
	t testing.TB
	c *http.Client
	e *env
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.web.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.e.web.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of a page's forms.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// login logs in and returns the dashboard's CSRF token.
func (b *browser) login(name, pw string) string {
	b.t.Helper()
	_, page := b.get("/login")
	code, loc, _ := b.post("/login", url.Values{"csrf": {csrf(b.t, page)}, "name": {name}, "password": {pw}})
	if code != http.StatusSeeOther || loc != "/" {
		b.t.Fatalf("log-in as %s: %d to %q, want 303 to /", name, code, loc)
	}
	code, page = b.get("/")
	if code != http.StatusOK || !strings.Contains(page, "Tableau de bord") {
		b.t.Fatalf("dashboard after log-in: %d\n%s", code, page)
	}
	return csrf(b.t, page)
}
