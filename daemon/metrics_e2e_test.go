package daemon_test

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/metrics"
	"github.com/cpam/attestd/samples"
)

// TestMetricsAfterSamples runs the sample requests through the in-process
// servers with the metrics endpoint on, then scrapes /metrics as Prometheus
// would and finds what the run caused: the count of each outcome that
// expected.json names, one reply sent per expected reply, nothing waiting
// in the outbox, and a daemon ready.
func TestMetricsAfterSamples(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	m := metrics.New(metrics.Options{OutboxDepth: db.OutboxDepth})
	srv, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	base := "http://" + srv.Addr()

	d := start(t, env, testConfig(t), daemon.Options{Store: db, Observer: m})
	exp := samples.ExpectedCases()
	want := map[string]int{}
	replies := 0
	for _, r := range samples.Requests() {
		c := exp.Cases[r.Name]
		want[c.Outcome]++
		if c.ReplyTo != nil {
			replies++
		}
		env.deliver(t, r.Raw)
	}
	d.collect(t, len(samples.Requests()), 60*time.Second)

	fams, err := metrics.Scrape(t.Context(), base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if got := metrics.Outcomes(fams); !maps.Equal(got, want) {
		t.Errorf("attestd_messages_total by outcome:\n got %v\nwant %v", got, want)
	}
	if want["issued"] != 11 || want["address_missing"] != 2 {
		t.Errorf("expected.json changed: issued %d, address_missing %d", want["issued"], want["address_missing"])
	}
	checks := map[string]float64{
		"attestd_replies_sent_total":             float64(replies),
		"attestd_reply_retries_total":            0,
		"attestd_reply_permanent_failures_total": 0,
		"attestd_outbox_depth":                   0,
		"attestd_smtp_reachable":                 1,
	}
	for name, v := range checks {
		if got, ok := metrics.Value(fams, name); !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, v)
		}
	}
	h := fams["attestd_message_duration_seconds"].GetMetric()[0].GetHistogram()
	if int(h.GetSampleCount()) != len(samples.Requests()) {
		t.Errorf("latency histogram holds %d messages, want %d", h.GetSampleCount(), len(samples.Requests()))
	}
	poll, _ := metrics.Value(fams, "attestd_imap_last_poll_timestamp_seconds")
	if age := time.Since(time.Unix(int64(poll), 0)); age > time.Minute {
		t.Errorf("last poll %v ago", age)
	}
	if code, body := fetch(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the run: %d %s", code, body)
	}

	d.stop()
	if code, body := fetch(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "imap") {
		t.Errorf("/readyz after the daemon stopped: %d %s, want 503 naming imap", code, body)
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestConfigMetricsAddress(t *testing.T) {
	cfg := loadgen.SampleConfig(nil)
	cfg.IMAP.Username = serviceUser
	cfg.IMAP.Secret = config.Secret{Env: "ATTESTD_TEST_NO_SUCH_PASSWORD"}
	t.Setenv("ATTESTD_TEST_NO_SUCH_PASSWORD", "x")
	cfg.Metrics.Address = "9464"
	var ce *config.Error
	if err := cfg.Check(); !errors.As(err, &ce) || ce.Key != "metrics.address" {
		t.Errorf("metrics.address 9464: %v, want an error naming metrics.address", err)
	}
	cfg.Metrics.Address = "127.0.0.1:9464"
	if err := cfg.Check(); err != nil {
		t.Errorf("metrics.address 127.0.0.1:9464: %v", err)
	}
}
