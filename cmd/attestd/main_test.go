package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/samples"
)

// binary is attestd built once for the tests: they run it as a user would.
var binary string

const testVersion, testRevision = "0.0.0-test", "0123456789ab"

// TestMain builds attestd once for the tests that run it, unless -short:
// then it builds nothing and those tests skip (attestd).
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "attestd-cmd-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "attestd")
	// Stamped as a release build is (docs/commands.md, version).
	ldflags := "-X main.version=" + testVersion + " -X main.revision=" + testRevision
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestRender(t *testing.T) {
	db := importedDB(t)
	out := filepath.Join(t.TempDir(), "famille.pdf")
	code, _, stderr := attestd(t, "render", "--db", db, "--nir", "1 85 06 69 123 087 38", "--family", "--etm", "--c2s",
		"--today", "2026-11-25", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pdf, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("no PDF written: %v", err)
	}
	if !strings.Contains(stderr, "attestation-droits-famille-PEIGNE-20261125.pdf") {
		t.Errorf("stderr does not give the file name: %s", stderr)
	}
}

// When the rules refuse, render writes nothing, exits 3 and ends stderr
// with the outcome code.
func TestRenderRefused(t *testing.T) {
	db := importedDB(t)
	for _, tt := range []struct {
		args    []string
		outcome string
	}{
		{[]string{"--nir", "178117505612342"}, "address_missing"},                              // Marc, no address
		{[]string{"--nir", "292021305501405"}, "address_missing"},                              // Inès, NPAI
		{[]string{"--nir", "275057511107788"}, "rights_closed"},                                // Sophie
		{[]string{"--nir", "290107511104250", "--beneficiary", "Hugo"}, "beneficiary_unknown"}, // Eva has no Hugo
		{[]string{"--nir", "290107511104251"}, "nir_invalid"},                                  // wrong key
		{[]string{"--nir", "1 80 01 13 055 021 38", "--beneficiary", "Adam"}, "rights_closed"},
	} {
		out := filepath.Join(t.TempDir(), "x.pdf")
		args := append([]string{"render", "--db", db, "--today", "2026-11-25", "-o", out}, tt.args...)
		code, _, stderr := attestd(t, args...)
		if code != 3 || lastLine(stderr) != tt.outcome {
			t.Errorf("%v: exit %d, last line %q; want 3 and %q", tt.args, code, lastLine(stderr), tt.outcome)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: a file was written", tt.args)
		}
	}
}

func TestRegistryImportRefusesBadFile(t *testing.T) {
	reg := strings.Replace(string(samples.Registry()), `"nir": "290107511104250"`, `"nir": "290107511104251"`, 1)
	file := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(file, []byte(reg), 0o644)
	db := filepath.Join(t.TempDir(), "attestd.db")
	code, _, stderr := attestd(t, "registry", "import", "--db", db, file)
	if code != 1 || !strings.Contains(stderr, "C-EVA") || !strings.Contains(stderr, "nir") || !strings.Contains(stderr, "nothing loaded") {
		t.Fatalf("exit %d, stderr %q: want 1, naming compte C-EVA and the nir field", code, stderr)
	}
	// Nothing was loaded: Eva's compte is unknown to render.
	code, _, stderr = attestd(t, "render", "--db", db, "--nir", "185066912308738", "-o", filepath.Join(t.TempDir(), "x.pdf"))
	if code != 3 || lastLine(stderr) != "sender_unknown" {
		t.Fatalf("after a refused import: exit %d, %q", code, lastLine(stderr))
	}
}

func TestCheckConfigNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	good := "service: {address: attestation@cpam.example, domain: cpam.example}\n" +
		"imap: {username: attestation@cpam.example, password_env: ATTESTD_TEST_PW}\n" +
		"trust: {authserv_ids: [mx.attestation.example]}\n"
	t.Setenv("ATTESTD_TEST_PW", "x")
	for _, tt := range []struct {
		yaml, key string
	}{
		{good, ""},
		{good + "store: {driver: mysql}\n", "store.driver"},
		{strings.Replace(good, "attestation@cpam.example,", "not an address,", 1), "service.address"},
		{good + "imap2: {}\n", "imap2"},
		{strings.Replace(good, "ATTESTD_TEST_PW", "ATTESTD_UNSET_PW", 1), "imap.password_env"},
		{good + "limits: {max_message_bytes: 0}\n", "limits.max_message_bytes"},
		{strings.Replace(good, "password_env:", "idle_wakeup: fast, password_env:", 1), "fast"},
		{good + "console: {users: [{name: a, role: admin, password_hash: $2a$12$x}]}\n", "console.users[0].role"},
		{good + "console: {users: [{name: a, role: viewer, password_hash: clear}]}\n", "console.users[0].password_hash"},
		{good + "api: {clients: [{name: site, token_sha256: abc}]}\n", "api.clients[0]"},
		{good + "console: {users: [{name: a, role: viewer, password_hash: '$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3'}," +
			" {name: b, role: operator, password_hash: '$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'}]}\n", ""},
		{good + "console: {users: [{name: a, role: viewer, password_hash: '$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$!!'}]}\n", "console.users[0].password_hash"},
		{good + "console: {users: [{name: a, role: viewer, password_hash: '$argon2id$v=19$m=64000000,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3'}]}\n", "console.users[0].password_hash"},
		{good + "api: {clients: [{name: borne, cert_subject: borne.cpam.example}]}\n", "api.clients[0].cert_subject"},
		{good + "api: {clients: [{name: 'site web', token_sha256: " + strings.Repeat("ab", 32) + "}]}\n", "api.clients[0].name"},
		{good + "http: {client_cas: [/nonexistent/ca.pem]}\n", "http.client_cas"},
		{good + "http: {tls_cert: /nonexistent/web.crt, tls_key: /nonexistent/web.key}\n", "http.tls_cert"},
		{good + "http: {address: 8080}\n", "http.address"},
		{good + "console: {trusted_header: X-Remote-User}\n", "console.trusted_header"},
	} {
		f := filepath.Join(dir, "c.yaml")
		os.WriteFile(f, []byte(tt.yaml), 0o644)
		code, _, stderr := attestd(t, "check-config", "--config", f)
		if tt.key == "" {
			if code != 0 {
				t.Errorf("good config refused: %s", stderr)
			}
			continue
		}
		if code != exitConfig || !strings.Contains(stderr, tt.key) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("want exit %d and one line naming %s; got %d %q", exitConfig, tt.key, code, stderr)
		}
	}
}

// Every command of the table answers --help with its usage on stdout and
// exit 0; so do attestd --help and a command group.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		args := append(strings.Fields(c.name), "--help")
		code, stdout, stderr := attestd(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "usage: "+c.line()+"\n") || stderr != "" {
			t.Errorf("%s --help: exit %d, want 0 and the usage on stdout: %q %q", c.name, code, stdout, stderr)
		}
	}
	code, stdout, _ := attestd(t, "--help")
	if code != 0 {
		t.Errorf("attestd --help: exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(stdout, c.line()+"\n      "+c.summary+"\n") {
			t.Errorf("attestd --help does not list %q", c.line())
		}
	}
	code, stdout, _ = attestd(t, "outbox", "--help")
	if code != 0 || !strings.Contains(stdout, "attestd outbox list") || !strings.Contains(stdout, "attestd outbox retry") || strings.Contains(stdout, "attestd run") {
		t.Errorf("attestd outbox --help: exit %d, %q", code, stdout)
	}
}

// A wrong command line exits 2 and says what is wrong on stderr.
func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "attestd.db")
	for _, tt := range []struct {
		args []string
		says string
	}{
		{nil, "Usage:"},
		{[]string{"nonsense"}, `unknown command "nonsense"`},
		{[]string{"outbox"}, "say which: list, retry"},
		{[]string{"outbox", "purge"}, "say which: list, retry"},
		{[]string{"run"}, "--config FILE is required"},
		{[]string{"run", "--config", "x.yaml", "--log-level", "loud"}, "--log-level"},
		{[]string{"render", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"outbox", "retry", "--db", db}, "name the outbox ID"},
		{[]string{"outbox", "retry", "--db", db, "x"}, `outbox ID "x" is not a number`},
		{[]string{"outbox", "list", "--config", "x.yaml", "--db", db}, "leave out --db"},
		{[]string{"registry", "import", "--db", db}, "name one registry file"},
		{[]string{"version", "extra"}, "unexpected argument"},
	} {
		code, stdout, stderr := attestd(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.says) || stdout != "" {
			t.Errorf("attestd %v: exit %d, stderr %q; want %d and %q on stderr, nothing on stdout", tt.args, code, stderr, exitUsage, tt.says)
		}
	}
}

// attestd version and attestd --version print the stamps of the build.
func TestVersion(t *testing.T) {
	want := "attestd " + testVersion + " (revision " + testRevision + ", go"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := attestd(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, want) || strings.Count(stdout, "\n") != 1 {
			t.Errorf("attestd %v: exit %d, %q; want one line starting %q", args, code, stdout, want)
		}
	}
}

// The demo on the embedded default: every sample handled, summary.json as
// expected.json says.
func TestDemoOnce(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := attestd(t, "demo", "--once", "--out", out, "--today", "2026-11-25")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, col := range []string{"SUBJECT", "SENDER", "OUTCOME", "REPLY TO", "ATTACHMENTS"} {
		if !strings.Contains(stdout, col) {
			t.Errorf("the table has no %s column", col)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		File          string              `json:"file"`
		MessageID     string              `json:"message_id"`
		Outcome       string              `json:"outcome"`
		ReplyTo       *string             `json:"reply_to"`
		Attachments   []string            `json:"attachments"`
		Beneficiaries []string            `json:"beneficiaries"`
		Mentions      map[string][]string `json:"mentions"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	exp := samples.ExpectedCases()
	if len(rows) != len(exp.Cases) {
		t.Fatalf("%d rows, want %d", len(rows), len(exp.Cases))
	}
	for _, r := range rows {
		c, ok := exp.Cases[r.File]
		if !ok {
			t.Errorf("row for unknown file %q", r.File)
			continue
		}
		if r.Outcome != c.Outcome {
			t.Errorf("%s: outcome %s, want %s", r.File, r.Outcome, c.Outcome)
		}
		if (r.ReplyTo == nil) != (c.ReplyTo == nil) || r.ReplyTo != nil && *r.ReplyTo != *c.ReplyTo {
			t.Errorf("%s: reply_to %v, want %v", r.File, r.ReplyTo, c.ReplyTo)
		}
		got, want := slices.Clone(r.Beneficiaries), slices.Clone(c.Beneficiaries)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: beneficiaries %v, want %v", r.File, got, want)
		}
		for name, ms := range c.Mentions {
			if !slices.Equal(r.Mentions[name], ms) {
				t.Errorf("%s: %s mentions %v, want %v", r.File, name, r.Mentions[name], ms)
			}
		}
		if (c.Outcome == "issued") != (len(r.Attachments) == 1) {
			t.Errorf("%s: attachments %v", r.File, r.Attachments)
		}
		if !strings.HasPrefix(r.MessageID, "req-") && !strings.HasPrefix(r.MessageID, "bounce-") {
			t.Errorf("%s: message_id %q", r.File, r.MessageID)
		}
	}
}

// attestd runs the binary and returns its exit status, stdout and stderr.
func attestd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return testkit.Run(t, binary, args...)
}

func lastLine(s string) string { return testkit.LastLine(s) }

func importedDB(t *testing.T) string {
	t.Helper()
	return testkit.ImportedDB(t, binary, "../../samples/registry.json")
}
