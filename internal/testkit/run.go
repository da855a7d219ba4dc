package testkit

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Run runs the program bin with args, as a user would, and returns its
// exit status, stdout and stderr; bin "" skips the test (a binary that
// -short did not build).
func Run(t testing.TB, bin string, args ...string) (int, string, string) {
	t.Helper()
	if bin == "" {
		t.Skip("-short: the attestd binary is not built")
	}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// LastLine is the last line of s.
func LastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// ImportedDB imports the registry file into a new SQLite store with bin
// (`attestd registry import`) and returns the store's file.
func ImportedDB(t testing.TB, bin, registry string) string {
	t.Helper()
	db := t.TempDir() + "/attestd.db"
	if code, _, stderr := Run(t, bin, "registry", "import", "--db", db, registry); code != 0 {
		t.Fatalf("registry import: exit %d: %s", code, stderr)
	}
	return db
}
