package daemon_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
)

// Reliability (SPEC section 8) of the process: SIGTERM, retention.

// daemonProcess is `attestd run` started by a test.
type daemonProcess struct {
	cmd    *exec.Cmd
	stderr *logBuffer
	done   chan error
}

func startBinary(t testing.TB, bin, cfgPath string) *daemonProcess {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--today", today.String())
	cmd.Env = append(os.Environ(), "ATTESTD_TEST_IMAP_PASSWORD=secret")
	p := &daemonProcess{cmd: cmd, stderr: &logBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and returns the exit status.
func (p *daemonProcess) stop(t testing.TB) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

func (p *daemonProcess) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("attestd run did not exit 60 s after SIGTERM; its log:\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// TestSIGTERM runs the binary: on SIGTERM it stops fetching, finishes the
// message in flight (its reply out, its original filed) and exits 0; the
// next run handles the rest, and nothing is answered twice.
func TestSIGTERM(t *testing.T) {
	env := newLocalEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	env.smtp.SetFault(func(string, []string) error {
		first.Do(func() { close(entered); <-release })
		return nil
	})
	bin := buildAttestd(t)
	cfgPath := binaryConfig(t, env, filepath.Join(t.TempDir(), "attestd.db"), 1)
	reqs := mix(t, 5, "sigterm")
	deliverAll(t, env, reqs)
	p := startBinary(t, bin, cfgPath)
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatalf("no reply reached the relay; the daemon's log:\n%s", p.stderr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the daemon to acknowledge SIGTERM", func() bool {
		return strings.Contains(p.stderr.String(), "finishing what is in flight")
	})
	close(release)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; log:\n%s", code, p.stderr)
	}
	sent := env.sent(t)
	folders := folderIDs(t, env)
	if len(sent) != 1 {
		t.Fatalf("%d replies after the first run, want the one in flight", len(sent))
	}
	inFlight := strings.Trim(header(t, sent[0].Raw, "In-Reply-To"), "<>")
	if !slices.Contains(folders["Processed"], inFlight) {
		t.Errorf("the message in flight was answered but not filed: %v", whereIs(folders, inFlight))
	}
	if len(folders["INBOX"]) != len(reqs)-1 {
		t.Errorf("%d messages left in the INBOX, want %d: fetching must stop at SIGTERM", len(folders["INBOX"]), len(reqs)-1)
	}

	p = startBinary(t, bin, cfgPath)
	eventually(t, 60*time.Second, "the second run to handle the rest", func() bool {
		return len(env.sent(t)) >= countReplies(reqs) && len(folderIDs(t, env)["INBOX"]) == 0
	})
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; log:\n%s", code, p.stderr)
	}
	checkAll(t, env, reqs)
}

// TestRetention: the raw content of handled requests and of their replies
// is purged once older than outbox.retention; outcomes stay. The job runs
// at start, then every hour; the clock is the daemon's.
func TestRetention(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func(at time.Time) func() time.Time { return func() time.Time { return at } }
	cfg := reliabilityConfig(t)
	cfg.Outbox.Retention = config.Duration(720 * time.Hour)
	reqs := []req{sample(t, "01-eva-simple.eml", "retention@reliability.test")}
	r := start(t, env, cfg, daemon.Options{Store: db, Now: clock(t0)})
	deliverAll(t, env, reqs)
	r.collect(t, 1, 60*time.Second)
	r.stop()
	items, err := db.ListOutbox(context.Background())
	if err != nil || len(items) != 1 {
		t.Fatalf("outbox: %v, %v", items, err)
	}
	claimID := items[0].ClaimID
	kept := func() (request, reply bool) {
		raw, err := db.ClaimRaw(context.Background(), claimID)
		if err != nil {
			t.Fatal(err)
		}
		it, err := db.OutboxForClaim(context.Background(), claimID)
		if err != nil {
			t.Fatal(err)
		}
		return raw != nil, it.Raw != nil
	}

	r = start(t, env, cfg, daemon.Options{Store: db, Now: clock(t0.Add(719 * time.Hour))})
	waitLog(t, r, "retention", 1, 30*time.Second)
	r.stop()
	if request, reply := kept(); !request || !reply {
		t.Errorf("after 719 h: request kept %v, reply kept %v; want both kept", request, reply)
	}

	r = start(t, env, cfg, daemon.Options{Store: db, Now: clock(t0.Add(721 * time.Hour))})
	waitLog(t, r, "retention", 1, 30*time.Second)
	r.stop()
	if request, reply := kept(); request || reply {
		t.Errorf("after 721 h: request kept %v, reply kept %v; want both purged", request, reply)
	}
	c, err := db.ClaimByID(context.Background(), claimID)
	if err != nil || c.Outcome != rules.Issued || c.Reference == "" {
		t.Errorf("the outcome record must stay: %+v, %v", c, err)
	}
}

// TestRetentionConfig: a negative outbox.retention is refused by name.
func TestRetentionConfig(t *testing.T) {
	t.Setenv("ATTESTD_TEST_IMAP_PASSWORD", "x")
	_, err := config.Parse([]byte("imap: {username: u, password_env: ATTESTD_TEST_IMAP_PASSWORD}\n" +
		"trust: {authserv_ids: [mx.example]}\noutbox: {retention: -1h}\n"))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "outbox.retention" {
		t.Errorf("negative retention: %v, want an error naming outbox.retention", err)
	}
}
