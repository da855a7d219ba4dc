package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/attestdbin"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// Reliability (SPEC section 8) when the SMTP relay fails: temporary
// failures, a relay down at start, a permanent refusal.

func tempFail(string, []string) error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
}

// TestSMTPTemporaryFailure: the relay answers 451 for a while, then
// recovers. Every reply goes out exactly once, and no original is filed
// before its reply is out.
func TestSMTPTemporaryFailure(t *testing.T) {
	env := newLocalEnv(t)
	env.smtp.SetFault(tempFail)
	db := sampledb.SQLite(t)
	reqs := mix(t, 44, "t451")
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	deliverAll(t, env, reqs)
	eventually(t, 30*time.Second, "every reply tried and deferred", func() bool { return allTried(t, db, countReplies(reqs)) })
	// Let the outbox retry a few times more while the relay still refuses.
	eventually(t, 30*time.Second, "a second round of retries", func() bool {
		for _, it := range pendingOutbox(t, db) {
			if it.Attempts < 2 {
				return false
			}
		}
		return true
	})
	checkWaiting(t, env, reqs)
	if n := len(env.sent(t)); n != 0 {
		t.Fatalf("%d replies accepted while the relay refused everything", n)
	}
	env.smtp.SetFault(nil)
	results := r.collect(t, len(reqs), 60*time.Second)
	checkResults(t, reqs, results)
	checkAll(t, env, reqs)
}

// TestSMTPDownAtStart: the relay refuses connections when the daemon
// starts, and comes back later.
func TestSMTPDownAtStart(t *testing.T) {
	env := newLocalEnv(t)
	if err := env.smtp.Stop(); err != nil {
		t.Fatal(err)
	}
	db := sampledb.SQLite(t)
	reqs := mix(t, 22, "down")
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	deliverAll(t, env, reqs)
	eventually(t, 30*time.Second, "every reply tried and deferred", func() bool { return allTried(t, db, countReplies(reqs)) })
	checkWaiting(t, env, reqs)
	if err := env.smtp.Start(); err != nil {
		t.Fatal(err)
	}
	results := r.collect(t, len(reqs), 60*time.Second)
	checkResults(t, reqs, results)
	checkAll(t, env, reqs)
}

// buildAttestd builds cmd/attestd into a temporary directory.
func buildAttestd(t testing.TB) string {
	t.Helper()
	bin, err := attestdbin.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// binaryConfig writes the configuration file of `attestd run` against env,
// with the store in dbPath; the IMAP password is in $ATTESTD_TEST_IMAP_PASSWORD.
func binaryConfig(t testing.TB, env *localEnv, dbPath string, workers int) string {
	t.Helper()
	dir := t.TempDir()
	registry := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(registry, samples.Registry(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := attestdbin.Config{IMAP: env.imap.Addr(), User: serviceUser, PasswordEnv: "ATTESTD_TEST_IMAP_PASSWORD",
		SMTP: env.smtp.Addr(), DSN: dbPath, DailyLimit: 10000, Registry: registry, Workers: workers}
	path := filepath.Join(dir, "attestd.yaml")
	if err := os.WriteFile(path, []byte(cfg.YAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs the binary to completion and returns its exit status and
// output.
func runCLI(t testing.TB, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ATTESTD_TEST_IMAP_PASSWORD=secret")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestSMTPPermanentFailure: the relay refuses one recipient with 550. The
// reply is recorded as permanent and not retried, its original is filed,
// `attestd outbox list` shows it, and `attestd outbox retry ID` sends it
// once the relay takes it.
func TestSMTPPermanentFailure(t *testing.T) {
	env := newLocalEnv(t)
	reqs := mix(t, 22, "p550")
	refusedReq := reqs[4] // 05-marc-sans-adresse, the only request to this address
	refused := *refusedReq.want.ReplyTo
	var refusals atomic.Int64
	env.smtp.SetFault(func(_ string, to []string) error {
		if slices.Contains(to, refused) {
			refusals.Add(1)
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
		}
		return nil
	})
	dbPath := sampledb.File(t)
	db := openFile(t, dbPath)
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	deliverAll(t, env, reqs)
	results := r.collect(t, len(reqs), 60*time.Second)
	checkResults(t, reqs, results)

	var perm []store.OutboxItem
	all, err := db.ListOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		if it.State == store.OutboxPermanent {
			perm = append(perm, it)
		}
	}
	if len(perm) != 1 || perm[0].Attempts != 1 || !strings.Contains(perm[0].LastError, "550") {
		t.Fatalf("want one reply refused for good after one attempt with the 550, got %+v", perm)
	}
	if n := refusals.Load(); n != 1 {
		t.Errorf("the refused reply was tried %d times, want once", n)
	}
	folders := folderIDs(t, env)
	if !slices.Contains(folders["Processed"], refusedReq.id) {
		t.Errorf("the refused request's original is in %v, want Processed", whereIs(folders, refusedReq.id))
	}

	bin := buildAttestd(t)
	cfgPath := binaryConfig(t, env, dbPath, 1)
	code, out := runCLI(t, bin, "outbox", "list", "--config", cfgPath)
	id := fmt.Sprint(perm[0].ID)
	if code != 0 || !strings.Contains(out, "permanent") || !strings.Contains(out, "550") || !strings.Contains(out, "address_missing") {
		t.Fatalf("outbox list: exit %d, want the refused reply listed:\n%s", code, out)
	}
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, id+" ") }) {
		t.Fatalf("outbox list does not show ID %s:\n%s", id, out)
	}
	if strings.Contains(out, refused) {
		t.Errorf("outbox list shows the recipient's address:\n%s", out)
	}

	env.smtp.SetFault(nil)
	if code, out := runCLI(t, bin, "outbox", "retry", "--config", cfgPath, id); code != 0 {
		t.Fatalf("outbox retry %s: exit %d:\n%s", id, code, out)
	}
	eventually(t, 30*time.Second, "the retried reply to go out", func() bool { return len(repliesByRequest(t, env)[refusedReq.id]) > 0 })
	checkAll(t, env, reqs)
	if code, out := runCLI(t, bin, "outbox", "list", "--config", cfgPath); code != 0 || !strings.Contains(out, "0 replies") {
		t.Errorf("outbox list after the retry: exit %d, want no reply left:\n%s", code, out)
	}
	if code, out := runCLI(t, bin, "outbox", "retry", "--config", cfgPath, id); code == 0 {
		t.Errorf("outbox retry of a sent reply succeeded; it would go out twice:\n%s", out)
	}
}

// waitLog waits until the daemon's log holds n lines containing s.
func waitLog(t testing.TB, r *running, s string, n int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d log lines with %q", n, s), func() bool { return strings.Count(r.logs.String(), s) >= n })
}
