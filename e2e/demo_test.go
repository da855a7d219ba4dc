package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// withoutMessageID is a sample request with its Message-ID header removed.
func withoutMessageID(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../samples/requests", name))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?im)^Message-ID:.*\r?\n`)
	if !re.Match(raw) {
		t.Fatalf("%s has no Message-ID to remove", name)
	}
	return re.ReplaceAll(raw, nil)
}

// Two identical requests without a Message-ID: the daemon answers the
// first and files the second as its copy; the demo prints both rows, says
// they had no Message-ID, finds the reply by its reference and exits 0.
func TestDemoRequestsWithoutMessageID(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	raw := withoutMessageID(t, "01-eva-simple.eml")
	for _, name := range []string{"a.eml", "b.eml"} {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := attestd(t, "demo", "--once", "--requests", dir, "--out", out, "--today", "2026-11-25")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"a.eml (no Message-ID)", "b.eml (no Message-ID)"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("the table has no row %q:\n%s", name, stdout)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		File        string   `json:"file"`
		Outcome     string   `json:"outcome"`
		Attachments []string `json:"attachments"`
		NoMessageID bool     `json:"no_message_id"`
		Reference   string   `json:"reference"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %s", len(rows), b)
	}
	for _, r := range rows {
		if !r.NoMessageID {
			t.Errorf("%s: no_message_id not set", r.File)
		}
	}
	// The first result is the answered request, with its PDF. The copy is
	// filed without a second reply: suppressed, or, when the daemon picks
	// it up between the reply and the filing of the first, issued under the
	// same reference.
	first, second := rows[0], rows[1]
	if first.File != "a.eml" || first.Outcome != "issued" || len(first.Attachments) != 1 {
		t.Errorf("first row %+v: want a.eml issued with its PDF", first)
	}
	if second.File != "b.eml" || second.Outcome != "suppressed" && second.Reference != first.Reference {
		t.Errorf("second row %+v: want b.eml, suppressed as a copy", second)
	}
	if _, err := os.Stat(filepath.Join(out, "a", "reply.eml")); err != nil {
		t.Errorf("the reply was not written: %v", err)
	}
}
