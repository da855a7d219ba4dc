package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/samples"
)

// TestRunReloadsOnSIGHUP runs `attestd run` on in-process IMAP and SMTP
// servers and edits, while it runs, the two files SIGHUP reloads: the
// registry file and a reply template override. Eva is first unknown (her
// address is not in the registry), then, after SIGHUP, known and answered
// with the new signature; a reload of broken files changes nothing. On the
// way, `attestd healthcheck` and the build_info metric are checked against
// the running daemon.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	e := startRunEnv(t)
	e.writeRegistry(strings.ReplaceAll(string(samples.Registry()), "eva.dupont@example.org", "eva.ailleurs@example.org"))
	e.writeSignature("Signé A")
	e.start(t)

	reply := e.ask(t, "1")
	if atts, _ := attachments(reply); len(atts) != 0 || !strings.Contains(plainText(t, reply), "Signé A") {
		t.Fatalf("before SIGHUP: want the generic reply to an unknown sender, signed A; got %d attachments:\n%s", len(atts), plainText(t, reply))
	}
	e.checkHealth(t)

	e.writeRegistry(string(samples.Registry()))
	e.writeSignature("Signé B")
	e.hangup(t, "SIGHUP: reloaded")
	reply = e.ask(t, "2")
	if atts, _ := attachments(reply); len(atts) != 1 || !strings.Contains(plainText(t, reply), "Signé B") {
		t.Fatalf("after SIGHUP: want Eva's attestation, signed B; got %d attachments:\n%s", len(atts), plainText(t, reply))
	}

	e.writeRegistry(`{"format": "attestd-registry/1", "comptes": [`) // broken
	if err := os.WriteFile(filepath.Join(e.templates, "_common.txt.tmpl"), []byte(`{{define "greeting"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	line := e.hangup(t, "SIGHUP: reload failed")
	if !strings.Contains(line, `"registry":"unchanged"`) || !strings.Contains(line, `"templates":"unchanged"`) {
		t.Errorf("the failed reload's log line does not say both stayed: %s", line)
	}
	reply = e.ask(t, "3")
	if atts, _ := attachments(reply); len(atts) != 1 || !strings.Contains(plainText(t, reply), "Signé B") {
		t.Fatalf("after a failed reload: want Eva's attestation, signed B, as before; got %d attachments", len(atts))
	}

	e.stop(t)
	if code, _, _ := attestd(t, "healthcheck", "--address", e.metrics, "--timeout", "2s"); code != 1 {
		t.Errorf("healthcheck of a stopped daemon: exit %d, want 1", code)
	}
}

// runEnv is `attestd run` on in-process mail servers, with its files.
type runEnv struct {
	imap      *localmail.IMAPServer
	smtp      *localmail.SMTPServer
	dir       string
	registry  string // the registry file
	templates string // the override directory
	cmd       *exec.Cmd
	log       *logLines
	metrics   string // the metrics server's address, from the log
}

const runUser, runPassword = "attestation@cpam.example", "run-test-password"

func startRunEnv(t *testing.T) *runEnv {
	t.Helper()
	if binary == "" {
		t.Skip("-short: the attestd binary is not built")
	}
	imapSrv, smtpSrv := testkit.MailServers(t, map[string]string{runUser: runPassword})
	dir := t.TempDir()
	e := &runEnv{imap: imapSrv, smtp: smtpSrv, dir: dir, registry: filepath.Join(dir, "registry.json"), templates: filepath.Join(dir, "templates")}
	if err := os.Mkdir(e.templates, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *runEnv) writeRegistry(text string) {
	if err := os.WriteFile(e.registry, []byte(text), 0o644); err != nil {
		panic(err)
	}
}

// writeSignature overrides the shared plain-text pieces with a signature
// of its own.
func (e *runEnv) writeSignature(sig string) {
	text := `{{define "greeting"}}Bonjour,{{end}}{{define "contact"}}au {{.Service.Phone}}{{end}}{{define "signature"}}` + sig + `{{end}}`
	if err := os.WriteFile(filepath.Join(e.templates, "_common.txt.tmpl"), []byte(text), 0o644); err != nil {
		panic(err)
	}
}

func (e *runEnv) start(t *testing.T) {
	t.Helper()
	exp := samples.ExpectedCases()
	config := fmt.Sprintf(`service: {address: %s, domain: cpam.example}
imap: {address: %q, username: %s, password_env: ATTESTD_TEST_RUN_PASSWORD, idle_wakeup: 50ms}
smtp: {address: %q}
store: {driver: sqlite, dsn: %q}
trust: {authserv_ids: [%s]}
registry: {import_on_start: %q}
templates: %q
metrics: {address: "127.0.0.1:0"}
log: {level: debug}
`, exp.ServiceAddress, e.imap.Addr(), runUser, e.smtp.Addr(), filepath.Join(e.dir, "attestd.db"), exp.TrustedAuthservID, e.registry, e.templates)
	cfg := filepath.Join(e.dir, "attestd.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cmd = exec.Command(binary, "run", "--config", cfg, "--today", exp.Today)
	e.cmd.Env = append(os.Environ(), "ATTESTD_TEST_RUN_PASSWORD="+runPassword)
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.log = readLog(stderr)
	t.Cleanup(func() { e.cmd.Process.Kill(); e.cmd.Wait() })
	var listening struct{ Address string }
	if err := json.Unmarshal([]byte(e.log.await(t, "metrics and health checks listening")), &listening); err != nil {
		t.Fatal(err)
	}
	e.metrics = listening.Address
	e.log.await(t, `"level":"DEBUG"`) // log.level: debug is applied
}

// ask delivers Eva's sample request under a Message-ID of its own and
// returns the reply the SMTP server received for it.
func (e *runEnv) ask(t *testing.T, n string) []byte {
	t.Helper()
	raw := bytes.Replace(samples.Requests()[0].Raw, []byte("<req-001.2094@example.org>"), []byte("<reload-"+n+"@example.org>"), 1)
	if _, err := e.imap.Append(runUser, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		for _, m := range e.smtp.Messages() {
			if _, inReplyTo := replyIDs(m.Raw); inReplyTo == "reload-"+n+"@example.org" {
				return m.Raw
			}
		}
		if _, err := e.smtp.Wait(ctx, len(e.smtp.Messages())+1); err != nil {
			t.Fatalf("no reply to request %s; the daemon's log:\n%s", n, e.log.all())
		}
	}
}

// hangup sends SIGHUP and returns the log line that says what came of it.
func (e *runEnv) hangup(t *testing.T, want string) string {
	t.Helper()
	seen := e.log.count(want)
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	return e.log.awaitNth(t, want, seen+1)
}

// checkHealth runs `attestd healthcheck` against the daemon and reads
// attestd_build_info from its metrics.
func (e *runEnv) checkHealth(t *testing.T) {
	t.Helper()
	if code, stdout, stderr := attestd(t, "healthcheck", "--address", e.metrics); code != 0 || stdout != "ok\n" {
		t.Errorf("healthcheck: exit %d, %q %q; want 0 and ok", code, stdout, stderr)
	}
	// The daemon has polled and sent: it is ready.
	if code, stdout, stderr := attestd(t, "healthcheck", "--address", e.metrics, "--ready"); code != 0 || stdout != "ready\n" {
		t.Errorf("healthcheck --ready: exit %d, %q %q; want 0 and ready", code, stdout, stderr)
	}
	resp, err := http.Get("http://" + e.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `attestd_build_info{goversion="go`) || !strings.Contains(string(body), `revision="`+testRevision+`",version="`+testVersion+`"} 1`) {
		t.Errorf("/metrics has no attestd_build_info naming %s and %s", testVersion, testRevision)
	}
}

// stop ends the daemon with SIGTERM; it must exit 0.
func (e *runEnv) stop(t *testing.T) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-e.log.done
	if err := e.cmd.Wait(); err != nil {
		t.Errorf("attestd run after SIGTERM: %v; log:\n%s", err, e.log.all())
	}
}

// logLines collects a process's log lines as they come, for tests to wait
// on one.
type logLines struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each line
	done    chan struct{} // closed at the end of the stream
}

func readLog(r io.Reader) *logLines {
	l := &logLines{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func (l *logLines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *logLines) await(t *testing.T, s string) string { t.Helper(); return l.awaitNth(t, s, 1) }

// awaitNth waits for the nth line containing s and returns it. The minute
// is a bound for a hung daemon, not a measure: the line comes on an event.
func (l *logLines) awaitNth(t *testing.T, s string, nth int) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		line, changed := l.find(s, nth)
		if line != "" {
			return line
		}
		select {
		case <-changed:
		case <-l.done:
			if line, _ := l.find(s, nth); line != "" {
				return line
			}
			t.Fatalf("the daemon exited before logging %q:\n%s", s, l.all())
		case <-deadline:
			t.Fatalf("no log line %q (#%d); the log:\n%s", s, nth, l.all())
		}
	}
}

// find returns the nth line containing s, or "" and a channel closed at
// the next line.
func (l *logLines) find(s string, nth int) (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			if n++; n == nth {
				return line, nil
			}
		}
	}
	return "", l.changed
}

// plainText returns the text/plain part of a reply, decoded.
func plainText(t *testing.T, raw []byte) string {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, err := io.ReadAll(p.Body)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
		}
	}
}
