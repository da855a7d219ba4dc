package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is cmd/attestd built once by TestMain; "" under -short.
var binary string

// TestMain builds attestd once for every test of the package, unless
// -short: then it builds nothing and every test skips.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "attestd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "attestd")
	if out, err := exec.Command("go", "build", "-o", binary, "../cmd/attestd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/attestd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needBinary returns the attestd binary, or skips the test under -short.
func needBinary(t testing.TB) string {
	t.Helper()
	if binary == "" {
		t.Skip("-short: the end-to-end tests run the attestd binary, which is not built")
	}
	return binary
}

// attestd runs the binary and returns its exit status, stdout and stderr.
func attestd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(needBinary(t), args...)
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

// importedDB is a store with the sample registry imported by `attestd
// registry import`.
func importedDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "attestd.db")
	if code, _, stderr := attestd(t, "registry", "import", "--db", db, "../samples/registry.json"); code != 0 {
		t.Fatalf("registry import: exit %d: %s", code, stderr)
	}
	return db
}

// The exit statuses of docs/commands.md the tests expect.
const (
	exitUsage  = 2 // the command line is wrong
	exitNoCode = 4 // verify: the PDF carries no signed code
)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
