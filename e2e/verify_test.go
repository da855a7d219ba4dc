package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpam/attestd/internal/pdftext"
)

// TestKeysRenderVerify is the scenario: keys generate, a signed
// render of the Peigne family, verify of the PDF and of its code.
func TestKeysRenderVerify(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "K")
	if code, _, stderr := attestd(t, "keys", "generate", "--out", keys, "--valid-from", "2026-01-01"); code != 0 {
		t.Fatalf("keys generate: %d %s", code, stderr)
	}
	priv, pub := filepath.Join(keys, "attestd-signing.pem"), filepath.Join(keys, "attestd-signing.pub.pem")
	if st, err := os.Stat(priv); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", st.Mode(), err)
	}
	if code, _, _ := attestd(t, "keys", "generate", "--out", keys); code != 1 {
		t.Error("keys generate overwrote a key")
	}
	db := importedDB(t)
	signed, unsigned := filepath.Join(dir, "f.pdf"), filepath.Join(dir, "u.pdf")
	peigne := []string{"render", "--db", db, "--nir", "185066912308738", "--family", "--etm", "--c2s", "--today", "2026-11-25"}
	if code, _, stderr := attestd(t, append(peigne, "--signing-key", priv, "-o", signed)...); code != 0 {
		t.Fatalf("render: %d %s", code, stderr)
	}
	if code, _, stderr := attestd(t, append(peigne, "-o", unsigned)...); code != 0 {
		t.Fatalf("render: %d %s", code, stderr)
	}

	code, out, stderr := attestd(t, "verify", "--keys", pub, signed)
	if code != 0 {
		t.Fatalf("verify: %d %s %s", code, out, stderr)
	}
	for _, name := range []string{"BENOIT PEIGNE", "CLAIRE MOREAU (nom d'usage PEIGNE)", "LEA PEIGNE", "LUCAS PEIGNE", "Référence : AD-20261125-RENDER"} {
		if !strings.Contains(out, name) {
			t.Errorf("verify does not print %q:\n%s", name, out)
		}
	}
	if !strings.HasPrefix(lastLine(out), "signature valide (clé ") {
		t.Errorf("last line %q", lastLine(out))
	}

	pdf, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := pdftext.ReadCode(pdf)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(sealed, "BPLUCAS") + 3
	changed := sealed[:i] + "O" + sealed[i+1:]
	for _, tc := range []struct {
		args []string
		code int
		last string
	}{
		{[]string{"--code", sealed}, 0, "signature valide (clé "},
		{[]string{"--code", changed}, 1, "signature invalide"},
		{[]string{unsigned}, exitNoCode, ""},
		{[]string{"--today", "2030-01-01", signed}, 1, "clé expirée"},
	} {
		code, out, stderr := attestd(t, append([]string{"verify", "--keys", pub}, tc.args...)...)
		if code != tc.code || !strings.HasPrefix(lastLine(out), tc.last) {
			t.Errorf("verify %v: exit %d, %q (%s); want %d, %q", tc.args[0], code, lastLine(out), stderr, tc.code, tc.last)
		}
		if tc.code == exitNoCode && !strings.Contains(stderr, "carries no signed code") {
			t.Errorf("verify of an unsigned PDF says %q", stderr)
		}
	}

	other := filepath.Join(dir, "other")
	if code, _, _ := attestd(t, "keys", "generate", "--out", other); code != 0 {
		t.Fatal("keys generate")
	}
	code, out, _ = attestd(t, "verify", "--keys", filepath.Join(other, "attestd-signing.pub.pem"), signed)
	if code != 1 || lastLine(out) != "clé inconnue" {
		t.Errorf("verify with another key: exit %d, %q", code, out)
	}
}
