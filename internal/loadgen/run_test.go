package loadgen_test

import (
	"bytes"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/testkit/attestdbin"
	"github.com/cpam/attestd/samples"
)

// expectedCounts is what `times` rounds of the samples must give.
func expectedCounts(times int) (outcomes map[string]int, replies, pdfs int) {
	outcomes = map[string]int{}
	for _, c := range samples.ExpectedCases().Cases {
		outcomes[c.Outcome] += times
		if c.ReplyTo != nil {
			replies += times
		}
		if c.Outcome == "issued" {
			pdfs += times
		}
	}
	return outcomes, replies, pdfs
}

func checkReport(t *testing.T, rep *loadgen.Report, rounds int) {
	t.Helper()
	outcomes, replies, pdfs := expectedCounts(rounds)
	if !maps.Equal(rep.Outcomes, outcomes) {
		t.Errorf("outcomes %v, want %v", rep.Outcomes, outcomes)
	}
	if rep.Replies != replies || rep.PDFs != pdfs || rep.Unanswered != 0 {
		t.Errorf("%d replies (%d with a PDF, %d missing), want %d (%d)", rep.Replies, rep.PDFs, rep.Unanswered, replies, pdfs)
	}
	l := rep.Latency
	if l.N != replies || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
		t.Errorf("latency %+v over %d replies", l, replies)
	}
	if rep.PeakRSS <= 0 || rep.Elapsed <= 0 {
		t.Errorf("peak RSS %d, elapsed %v", rep.PeakRSS, rep.Elapsed)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"latency", "p99", "peak RSS", "issued " + strconv.Itoa(pdfs)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out.String())
		}
	}
}

// A sustained run in process: two rounds of the samples all at once, each
// request answered as expected.json says.
func TestSustainedInProcess(t *testing.T) {
	rep, err := loadgen.Run(t.Context(), loadgen.Options{N: 44, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 2)
	if rep.Mode != "sustained" || rep.Isolated || rep.Workers != 2 || rep.Requests != 44 {
		t.Errorf("report %+v", rep)
	}
	b, err := rep.JSON()
	if err != nil || !bytes.Contains(b, []byte(`"p99"`)) {
		t.Errorf("JSON: %v\n%s", err, b)
	}
}

// An idle run sends only requests that get a reply, and times each.
func TestIdleInProcess(t *testing.T) {
	rep, err := loadgen.Run(t.Context(), loadgen.Options{Idle: 5, IdleGap: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "idle" || rep.Requests != 5 || rep.Replies != 5 || rep.Latency.N != 5 || rep.Handled() != 5 {
		t.Errorf("idle run: %+v", rep)
	}
}

// With the daemon as a child process (the attestd binary, built here),
// CPU and memory are its own, read from its metrics and its rusage.
func TestSustainedChildProcess(t *testing.T) {
	bin := buildAttestd(t)
	var log bytes.Buffer
	rep, err := loadgen.Run(t.Context(), loadgen.Options{N: 22, Command: []string{bin, "run"}, Log: &log})
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	checkReport(t, rep, 1)
	if !rep.Isolated || rep.CPU <= 0 {
		t.Errorf("child run: isolated %v, CPU %v", rep.Isolated, rep.CPU)
	}
	if !strings.Contains(log.String(), `"message handled"`) {
		t.Errorf("the daemon's log did not reach Options.Log")
	}
}

// buildAttestd builds the attestd binary for a test that runs it as a
// child process.
func buildAttestd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the attestd binary")
	}
	bin, err := attestdbin.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Two replicas on PostgreSQL share two mailboxes: every request is
// answered once, as expected.json says, and the outcomes the report sums
// over the replicas are the run's.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := os.Getenv("ATTESTD_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ATTESTD_TEST_POSTGRES_DSN not set: PostgreSQL tests skipped")
	}
	bin := buildAttestd(t)
	var log bytes.Buffer
	rep, err := loadgen.Run(t.Context(), loadgen.Options{N: 44, Command: []string{bin, "run"}, Log: &log,
		Postgres: dsn, Replicas: 2, Mailboxes: 2})
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	checkReport(t, rep, 2)
	if rep.Replicas != 2 || rep.Mailboxes != 2 || rep.Store != "postgres" {
		t.Errorf("report: %d replicas, %d mailboxes, store %s", rep.Replicas, rep.Mailboxes, rep.Store)
	}
	var out bytes.Buffer
	loadgen.Compare(&out, []*loadgen.Report{rep, rep})
	if !strings.Contains(out.String(), "+0 %") {
		t.Errorf("comparison of a run with itself:\n%s", out.String())
	}
}

// Several replicas need a shared store and child processes.
func TestReplicasNeedPostgres(t *testing.T) {
	for _, o := range []loadgen.Options{
		{Replicas: 2, Command: []string{"attestd", "run"}},
		{Replicas: 2, Postgres: "postgres://x@127.0.0.1:1/x"},
	} {
		if _, err := loadgen.Run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "replicas") {
			t.Errorf("%+v: %v, want an error about replicas", o, err)
		}
	}
}

// A daemon configuration written out loads back as it was.
func TestConfigRoundTrip(t *testing.T) {
	cfg := loadgen.SampleConfig(nil)
	cfg.IMAP.Username = "attestation@cpam.example"
	cfg.IMAP.Secret = config.Secret{Env: "ATTESTD_TEST_BENCH_PW"}
	cfg.IMAP.IdleWakeup = config.Duration(150 * time.Millisecond)
	cfg.Metrics.Address = "127.0.0.1:9464"
	cfg.Workers = 3
	t.Setenv("ATTESTD_TEST_BENCH_PW", "x")
	text, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if back.IMAP.IdleWakeup != cfg.IMAP.IdleWakeup || back.IMAP.PollInterval != cfg.IMAP.PollInterval ||
		back.Outbox.Retention != cfg.Outbox.Retention || back.Workers != 3 || back.Metrics != cfg.Metrics ||
		back.Limits != cfg.Limits || back.Trust.Gateway != cfg.Trust.Gateway {
		t.Errorf("loaded back differently:\n%s", text)
	}
}
