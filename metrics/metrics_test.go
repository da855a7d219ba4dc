package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/metrics"
)

var _ daemon.Observer = (*metrics.Metrics)(nil)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeStore answers the outbox depth, or fails.
type fakeStore struct {
	mu    sync.Mutex
	depth int
	err   error
}

func (s *fakeStore) OutboxDepth(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.depth, s.err
}

func newMetrics() (*metrics.Metrics, *clock, *fakeStore) {
	c := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	st := &fakeStore{depth: 3}
	m := metrics.New(metrics.Options{OutboxDepth: st.OutboxDepth, PollStale: 15 * time.Second, Now: c.now})
	return m, c, st
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestMetricsCountWhatTheDaemonReports(t *testing.T) {
	m, _, _ := newMetrics()
	m.MessageHandled("issued", 40*time.Millisecond)
	m.MessageHandled("issued", 60*time.Millisecond)
	m.MessageHandled("address_missing", 20*time.Millisecond)
	m.MessageDeferred()
	m.ReplySent()
	m.ReplyDeferred(true)
	m.ReplyDeferred(false)
	m.ReplyRefused()
	m.IMAPConnection("INBOX", "work", true)
	code, body := get(t, m.Handler(), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`attestd_messages_total{outcome="issued"} 2`,
		`attestd_messages_total{outcome="address_missing"} 1`,
		`attestd_message_duration_seconds_count 3`,
		`attestd_message_duration_seconds_bucket{le="0.05"} 2`,
		`attestd_message_deferrals_total 1`,
		`attestd_replies_sent_total 1`,
		`attestd_reply_retries_total 2`,
		`attestd_reply_permanent_failures_total 1`,
		`attestd_outbox_depth 3`,
		`attestd_imap_connected{connection="work"} 1`,
		`attestd_imap_connected{connection="idle"} 0`,
		`attestd_smtp_reachable 0`,
		`process_resident_memory_bytes`,
		`go_goroutines`,
	} {
		if !hasLine(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// hasLine reports whether a line of the exposition is want, or is want
// followed by a value.
func hasLine(body, want string) bool {
	for _, line := range strings.Split(body, "\n") {
		if line == want || strings.HasPrefix(line, want+" ") {
			return true
		}
	}
	return false
}

// With two mailboxes, the idle gauge says whether every mailbox this
// replica serves has its IDLE connection up: one down is news seen only at
// the poll, whichever mailbox changed last. A mailbox another replica took
// over no longer counts.
func TestIdleGaugeCoversEveryMailbox(t *testing.T) {
	m, _, _ := newMetrics()
	idle := func() string {
		_, body := get(t, m.Handler(), "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, `attestd_imap_connected{connection="idle"} `) {
				return strings.TrimPrefix(line, `attestd_imap_connected{connection="idle"} `)
			}
		}
		return "absent"
	}
	for _, step := range []struct {
		what string
		do   func()
		want string
	}{
		{"both held, A's IDLE up", func() {
			m.MailboxHeld("A", true)
			m.MailboxHeld("B", true)
			m.IMAPConnection("A", "idle", true)
		}, "1"},
		{"B's IDLE down", func() { m.IMAPConnection("B", "idle", false) }, "0"},
		{"new mail on A (its IDLE reports again)", func() { m.IMAPConnection("A", "idle", true) }, "0"},
		{"B's IDLE up again", func() { m.IMAPConnection("B", "idle", true) }, "1"},
		{"B's IDLE down, then B taken over by another replica", func() {
			m.IMAPConnection("B", "idle", false)
			m.MailboxHeld("B", false)
		}, "1"},
		{"A's IDLE down", func() { m.IMAPConnection("A", "idle", false) }, "0"},
	} {
		step.do()
		if got := idle(); got != step.want {
			t.Errorf("%s: idle gauge %s, want %s", step.what, got, step.want)
		}
	}
}

func TestScrapeReadsOutcomes(t *testing.T) {
	m, _, _ := newMetrics()
	for range 11 {
		m.MessageHandled("issued", time.Millisecond)
	}
	m.MessageHandled("suppressed", time.Millisecond)
	m.Polled(time.Unix(1800000000, 0))
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams, err := metrics.Scrape(t.Context(), srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	got := metrics.Outcomes(fams)
	if got["issued"] != 11 || got["suppressed"] != 1 || len(got) != 2 {
		t.Errorf("outcomes %v, want issued 11 and suppressed 1", got)
	}
	if v, ok := metrics.Value(fams, "attestd_imap_last_poll_timestamp_seconds"); !ok || v != 1800000000 {
		t.Errorf("last poll %v %v", v, ok)
	}
	if _, err := metrics.Scrape(t.Context(), srv.URL+"/nothing"); err == nil {
		t.Error("scraping a missing page did not fail")
	}
}

func TestReadiness(t *testing.T) {
	m, c, st := newMetrics()
	h := m.Handler()
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	ready := func() (int, string) { return get(t, h, "/readyz") }
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "imap: the work connection is down") {
		t.Errorf("before connecting: %d %q", code, body)
	}
	m.IMAPConnection("INBOX", "work", true)
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "no successful poll") {
		t.Errorf("connected, never polled: %d %q", code, body)
	}
	m.Polled(c.now())
	if code, body := ready(); code != http.StatusOK || body != "ready\n" {
		t.Errorf("connected and polled: %d %q", code, body)
	}
	c.add(20 * time.Second)
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "last successful poll 20s ago") {
		t.Errorf("poll too old: %d %q", code, body)
	}
	m.Polled(c.now())
	m.ReplyDeferred(false)
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "smtp:") || strings.Contains(body, "imap") {
		t.Errorf("relay unreachable: %d %q", code, body)
	}
	m.ReplyDeferred(true) // a 4xx: the relay answered
	if code, _ := ready(); code != http.StatusOK {
		t.Errorf("relay answered 4xx: %d, want ready", code)
	}
	st.mu.Lock()
	st.err = errors.New("database is locked")
	st.mu.Unlock()
	m.IMAPConnection("INBOX", "work", false)
	code, body := ready()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store: database is locked") || !strings.Contains(body, "imap:") {
		t.Errorf("store and imap down: %d %q", code, body)
	}
	if _, body := get(t, h, "/metrics"); !strings.Contains(body, "attestd_outbox_depth -1") {
		t.Errorf("outbox depth with the store down is not -1")
	}
}

func TestListenServesAndCloses(t *testing.T) {
	m, _, _ := newMetrics()
	srv, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
	if _, err := metrics.Listen(srv.Addr(), m.Handler()); err == nil || !strings.Contains(err.Error(), "metrics.address") {
		t.Errorf("listening twice on one address: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.Addr()+"/healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("still serving after Close")
	}
}

// The scrape names the build: version, VCS revision and Go release.
func TestBuildInfo(t *testing.T) {
	m := metrics.New(metrics.Options{Build: metrics.Build{Version: "1.4.0", Revision: "0123abc", GoVersion: "go1.26.8"}})
	code, body := get(t, m.Handler(), "/metrics")
	want := `attestd_build_info{goversion="go1.26.8",revision="0123abc",version="1.4.0"} 1`
	if code != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("GET /metrics: %d, no line %s in:\n%s", code, want, body)
	}
}
