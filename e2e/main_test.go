package e2e

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/internal/testkit/attestdbin"
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
	if binary, err = attestdbin.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
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

// The exit statuses of docs/commands.md the tests expect.
const (
	exitUsage  = 2 // the command line is wrong
	exitNoCode = 4 // verify: the PDF carries no signed code
)

// attestd runs the binary and returns its exit status, stdout and stderr.
func attestd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return testkit.Run(t, binary, args...)
}

func lastLine(s string) string { return testkit.LastLine(s) }

func importedDB(t *testing.T) string {
	t.Helper()
	return testkit.ImportedDB(t, binary, "../samples/registry.json")
}
