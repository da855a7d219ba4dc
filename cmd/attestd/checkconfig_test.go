package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/passhash"
)

// check-config --print shows every setting, defaults included, and hides
// the store's password; what it prints loads back to the same settings.
func TestCheckConfigPrint(t *testing.T) {
	t.Setenv("ATTESTD_TEST_PW", "imap-secret")
	file := filepath.Join(t.TempDir(), "attestd.yaml")
	yaml := "service: {address: attestation@cpam.example, domain: cpam.example}\n" +
		"imap: {username: attestation@cpam.example, password_env: ATTESTD_TEST_PW}\n" +
		"store: {driver: postgres, dsn: 'postgres://attestd:db-secret@db.example:5432/attestd?sslmode=require'}\n" +
		"trust: {authserv_ids: [mx.attestation.example]}\n" +
		"log: {level: debug}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := attestd(t, "check-config", "--config", file, "--print")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, secret := range []string{"db-secret", "imap-secret"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("--print shows the secret %q:\n%s", secret, stdout)
		}
	}
	for _, want := range []string{
		"dsn: postgres://attestd:xxxxx@db.example:5432/attestd?sslmode=require", // masked
		"password_env: ATTESTD_TEST_PW",                                         // where the secret is, not the secret
		"poll_interval: 5s",                                                     // a default
		"max_attempts: 20",                                                      // a default
		"level: debug",                                                          // the file's
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--print lacks %q:\n%s", want, stdout)
		}
	}
	printed, err := config.Parse([]byte(stdout))
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v", err)
	}
	var again bytes.Buffer
	if err := printConfig(&again, file, printed); err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(stdout, "\n") // the first line names the binary's version
	if _, againBody, _ := strings.Cut(again.String(), "\n"); againBody != body {
		t.Errorf("the printed settings load back to others:\n%s\nthen:\n%s", stdout, again.String())
	}
}

func TestMaskDSN(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/attestd/attestd.db":                         "/var/lib/attestd/attestd.db",
		"file:attestd.db?_pragma=busy_timeout(5000)":          "file:attestd.db?_pragma=busy_timeout(5000)",
		"postgres://attestd@db:5432/attestd":                  "postgres://attestd@db:5432/attestd",
		"postgres://attestd:s3cr%40t@db:5432/attestd":         "postgres://attestd:xxxxx@db:5432/attestd",
		"postgres://db:5432/attestd?password=s3cret&user=a":   "postgres://db:5432/attestd?password=xxxxx&user=a",
		"host=db user=attestd password=s3cret dbname=attestd": "host=db user=attestd password=xxxxx dbname=attestd",
		"host=db password='s3 cr\\'et' dbname=attestd":        "host=db password=xxxxx dbname=attestd",
	} {
		if got := maskDSN(in); got != want {
			t.Errorf("maskDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrintConfigNamesTheVersion(t *testing.T) {
	var b bytes.Buffer
	if err := printConfig(&b, "x.yaml", config.Default()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "# attestd ") || !strings.Contains(b.String(), "x.yaml") {
		t.Errorf("no header naming attestd and the file: %q", b.String()[:80])
	}
}

// console hash-password prints an argon2id hash, or a bcrypt one with
// --bcrypt; check-config takes both.
func TestConsoleHashPassword(t *testing.T) {
	hashOf := func(args ...string) string {
		cmd := exec.Command(binary, append([]string{"console", "hash-password"}, args...)...)
		cmd.Stdin = strings.NewReader("s3cret passphrase\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("hash-password %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	argon, bc := hashOf(), hashOf("--bcrypt")
	if !strings.HasPrefix(argon, "$argon2id$v=19$m=19456,t=2,p=1$") || !strings.HasPrefix(bc, "$2a$12$") {
		t.Fatalf("hash-password printed %q, --bcrypt %q", argon, bc)
	}
	if !passhash.Check(argon, "s3cret passphrase") || !passhash.Check(bc, "s3cret passphrase") {
		t.Error("a printed hash does not match the password read")
	}
	t.Setenv("ATTESTD_TEST_PW", "x")
	file := filepath.Join(t.TempDir(), "attestd.yaml")
	yaml := "service: {address: attestation@cpam.example, domain: cpam.example}\n" +
		"imap: {username: attestation@cpam.example, password_env: ATTESTD_TEST_PW}\n" +
		"trust: {authserv_ids: [mx.attestation.example]}\n" +
		"console: {users: [{name: a, role: operator, password_hash: '" + argon + "'}, {name: b, role: viewer, password_hash: '" + bc + "'}]}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := attestd(t, "check-config", "--config", file); code != 0 {
		t.Errorf("check-config refuses the printed hashes: %d %s", code, stderr)
	}
}

// check-config --print shows every mailbox of imap.mailboxes with its
// defaults filled in, where its password is read and not the password,
// and loads back to the same mailboxes.
func TestCheckConfigPrintMailboxes(t *testing.T) {
	t.Setenv("ATTESTD_TEST_PW_PARIS", "paris-secret")
	t.Setenv("ATTESTD_TEST_PW_LYON", "lyon-secret")
	file := filepath.Join(t.TempDir(), "attestd.yaml")
	yaml := "service: {address: attestation@cpam.example, domain: cpam.example}\n" +
		"trust: {authserv_ids: [mx.attestation.example]}\n" +
		"imap:\n  address: 127.0.0.1:1143\n  mailboxes:\n" +
		"    - {name: paris, username: paris@cpam.example, password_env: ATTESTD_TEST_PW_PARIS, reply_from: attestation-paris@cpam.example, organisme: CPAM de Paris}\n" +
		"    - {name: lyon, username: lyon@cpam.example, password_env: ATTESTD_TEST_PW_LYON, folders: {manual: A-voir}}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := attestd(t, "check-config", "--config", file, "--print")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "paris-secret") || strings.Contains(stdout, "lyon-secret") {
		t.Errorf("--print shows a password:\n%s", stdout)
	}
	printed, err := config.Parse([]byte(stdout))
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v", err)
	}
	src, _ := config.Parse([]byte(yaml))
	if got, want := fmt.Sprint(printed.Mailboxes()), fmt.Sprint(src.Mailboxes()); got != want {
		t.Errorf("printed mailboxes load back as\n%s\nwant\n%s", got, want)
	}
	for _, want := range []string{"name: lyon", "address: 127.0.0.1:1143", "manual: A-voir", "processed: Processed",
		"reply_from: attestation@cpam.example", "organisme: CPAM de Paris", "password_env: ATTESTD_TEST_PW_LYON"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--print lacks %q:\n%s", want, stdout)
		}
	}
}
