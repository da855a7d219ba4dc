package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/samples"
)

// checkIssuedOn25Nov checks that an attestation made with --today
// 2026-11-25 says that date everywhere: its file name, "Délivrée le", "à la
// date du" and its PDF metadata. The real clock is another day whenever the
// tests do not run on 25/11/2026.
func checkIssuedOn25Nov(t *testing.T, name string, pdf []byte) {
	t.Helper()
	if !strings.HasSuffix(name, "-20261125.pdf") {
		t.Errorf("file name %q is not dated 20261125", name)
	}
	text, err := pdftext.ExtractText(pdf)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	text = strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"Délivrée le 25/11/2026", "à la date du 25/11/2026", "délivrance, le 25/11/2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s does not say %q:\n%s", name, want, text)
		}
	}
	for _, key := range []string{"/CreationDate (D:20261125", "/ModDate (D:20261125"} {
		if !bytes.Contains(pdf, []byte(key)) {
			t.Errorf("%s: metadata %s… missing", name, key)
		}
	}
}

func TestRenderTodayDatesThePDF(t *testing.T) {
	db := importedDB(t)
	out := filepath.Join(t.TempDir(), "eva.pdf")
	code, _, stderr := attestd(t, "render", "--db", db, "--nir", "290107511104250", "--today", "2026-11-25", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pdf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkIssuedOn25Nov(t, "attestation-droits-DUPONT-EVA-20261125.pdf", pdf)
	if !strings.Contains(stderr, "attestation-droits-DUPONT-EVA-20261125.pdf") {
		t.Errorf("stderr does not give the dated file name: %s", stderr)
	}
}

func TestDemoTodayDatesThePDF(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	for _, r := range samples.Requests() {
		if r.Name == "01-eva-simple.eml" {
			if err := os.WriteFile(filepath.Join(dir, r.Name), r.Raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, _, stderr := attestd(t, "demo", "--once", "--requests", dir, "--out", out, "--today", "2026-11-25")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pdfs, _ := filepath.Glob(filepath.Join(out, "01-eva-simple", "*.pdf"))
	if len(pdfs) != 1 {
		t.Fatalf("PDFs written: %v, want one", pdfs)
	}
	pdf, err := os.ReadFile(pdfs[0])
	if err != nil {
		t.Fatal(err)
	}
	checkIssuedOn25Nov(t, filepath.Base(pdfs[0]), pdf)
}

// attestd run --today, against in-process IMAP and SMTP servers: the reply
// that reaches the SMTP server carries a PDF dated the fixed day.
func TestRunTodayDatesThePDF(t *testing.T) {
	const user = "attestation@cpam.example"
	imapSrv, smtpSrv := testkit.MailServers(t, map[string]string{user: "secret"})
	dir := t.TempDir()
	registry, err := filepath.Abs("../samples/registry.json")
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`service: {address: %s, domain: cpam.example}
imap: {address: %q, username: %s, password_env: ATTESTD_TEST_RUN_PASSWORD, idle_wakeup: 100ms}
smtp: {address: %q}
store: {driver: sqlite, dsn: %q}
trust: {authserv_ids: [mx.attestation.example]}
registry: {import_on_start: %q}
`, user, imapSrv.Addr(), user, smtpSrv.Addr(), filepath.Join(dir, "attestd.db"), registry)
	if err := os.WriteFile(filepath.Join(dir, "attestd.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	daemon := exec.Command(needBinary(t), "run", "--config", filepath.Join(dir, "attestd.yaml"), "--today", "2026-11-25")
	daemon.Env = append(os.Environ(), "ATTESTD_TEST_RUN_PASSWORD=secret")
	daemon.Stdout, daemon.Stderr = &logs, &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		daemon.Process.Signal(syscall.SIGTERM)
		daemon.Wait()
	}()
	for _, r := range samples.Requests() {
		if r.Name == "01-eva-simple.eml" {
			if _, err := imapSrv.Append(user, "INBOX", r.Raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgs, err := smtpSrv.Wait(ctx, 1)
	if err != nil {
		daemon.Process.Signal(syscall.SIGTERM)
		daemon.Wait()
		t.Fatalf("no reply reached the SMTP server: %v\n%s", err, logs.String())
	}
	name, pdf := onlyAttachment(t, msgs[0].Raw)
	checkIssuedOn25Nov(t, name, pdf)
}

// onlyAttachment returns the name and content of the one file attached to
// a reply, and fails the test when there is not exactly one.
func onlyAttachment(t *testing.T, raw []byte) (string, []byte) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var names []string
	var data []byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			names = append(names, name)
			if data, err = io.ReadAll(p.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(names) != 1 {
		t.Fatalf("reply attachments %v, want one", names)
	}
	return names[0], data
}
