package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/mailenv"
	"github.com/cpam/attestd/samples"
)

func TestAcceptanceNeedsTheDeployment(t *testing.T) {
	code, _, stderr := attestd(t, "acceptance", "--imap", "imap://u:p@127.0.0.1:10143/INBOX")
	if code != exitUsage || !strings.Contains(stderr, "--imap URL and --replies URL are required") {
		t.Errorf("without --replies: exit %d, %q", code, stderr)
	}
	code, _, stderr = attestd(t, "acceptance", "--imap", "imap://u@127.0.0.1:10143/INBOX", "--replies", "mailpit+http://127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "ATTESTD_ACCEPTANCE_IMAP_PASSWORD") {
		t.Errorf("without a password: exit %d, %q", code, stderr)
	}
	code, _, stderr = attestd(t, "acceptance", "--imap", "imap://u:p@127.0.0.1:10143/INBOX", "--replies", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "--replies") {
		t.Errorf("with a --replies of no known kind: exit %d, %q", code, stderr)
	}
}

// TestAcceptanceCommandAgainstDovecotAndMailpit runs `attestd run` and
// `attestd acceptance` against Dovecot and Mailpit, as QA would, with one
// case whose expectation is wrong: the runner says which and exits 1; the
// daemon stops on SIGTERM with status 0.
func TestAcceptanceCommandAgainstDovecotAndMailpit(t *testing.T) {
	env := mailenv.Require(t)
	ctx := context.Background()
	if err := env.ResetIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Mailpit().DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	registry, err := filepath.Abs("../samples/registry.json")
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`service: {address: attestation@cpam.example, domain: cpam.example}
imap: {address: %q, username: %q, password_env: ATTESTD_TEST_IMAP_PASSWORD, idle_wakeup: 100ms}
smtp: {address: %q}
store: {driver: sqlite, dsn: %q}
trust: {authserv_ids: [mx.attestation.example], agent_domains: [agents.cpam.example]}
registry: {import_on_start: %q}
`, env.IMAPAddr, env.IMAPUser, env.SMTPAddr, filepath.Join(dir, "attestd.db"), registry)
	if err := os.WriteFile(filepath.Join(dir, "attestd.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "attestd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	daemonLog := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	daemon := exec.Command(needBinary(t), "run", "--config", filepath.Join(dir, "attestd.yaml"), "--today", "2026-11-25")
	daemon.Stdout, daemon.Stderr = logFile, logFile
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	defer func() {
		daemon.Process.Kill()
		<-exited
	}()

	cases := filepath.Join(dir, "cases")
	if err := os.Mkdir(cases, 0o755); err != nil {
		t.Fatal(err)
	}
	exp := samples.ExpectedCases()
	keep := map[string]samples.Case{}
	for _, r := range samples.Requests() {
		if r.Name == "01-eva-simple.eml" || r.Name == "05-marc-sans-adresse.eml" {
			if err := os.WriteFile(filepath.Join(cases, r.Name), r.Raw, 0o644); err != nil {
				t.Fatal(err)
			}
			keep[r.Name] = exp.Cases[r.Name]
		}
	}
	wrong := keep["05-marc-sans-adresse.eml"]
	wrong.Outcome = "rights_closed"
	keep["05-marc-sans-adresse.eml"] = wrong
	exp.Cases = keep
	b, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cases, "expected.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Setenv("ATTESTD_ACCEPTANCE_IMAP_PASSWORD", env.IMAPPassword)
	code, stdout, stderr := attestd(t, "acceptance", "--cases", cases, "--timeout", "30s",
		"--imap", "imap://"+env.IMAPUser+"@"+env.IMAPAddr+"/INBOX", "--replies", "mailpit+"+env.MailpitAPI)
	if code != 1 || lastLine(stdout) != "1 passed, 1 failed" || !strings.Contains(stderr, "1 of 2 cases failed") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\ndaemon:\n%s", code, stdout, stderr, daemonLog())
	}
	if !strings.Contains(stdout, "outcome address_missing, want rights_closed") {
		t.Errorf("the report does not say why 05 failed:\n%s", stdout)
	}

	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the deferred clean-up
		if err != nil {
			t.Errorf("attestd run after SIGTERM: %v\n%s", err, daemonLog())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("attestd run still running 20 s after SIGTERM")
	}
}
