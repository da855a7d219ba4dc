package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpam/attestd/samples"
)

// The operator's terminal gets the compte, the field and the rule; never
// the refused value, whatever it holds.
func TestRegistryImportRefusalHidesTheValue(t *testing.T) {
	reg := strings.Replace(string(samples.Registry()), `"eva.dupont@example.org"`, `"eva@example.org\r\nBcc: all@example.net"`, 1)
	reg = strings.Replace(reg, `"prenom": "EVA"`, `"prenom": "{{.X}} <script> \u202e`+strings.Repeat("A", 100000)+`"`, 1)
	file := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, []byte(reg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := attestd(t, "registry", "import", "--db", filepath.Join(t.TempDir(), "attestd.db"), file)
	if code == 0 {
		t.Fatal("the registry was imported")
	}
	for _, want := range []string{"nothing loaded", "compte C-EVA: email: not an e-mail address",
		"compte C-EVA: beneficiaires[0].prenom: too long: 100017 characters, at most 80"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	for _, secret := range []string{"Bcc", "all@example.net", "script", "{{", "\u202e", "AAAA"} {
		if strings.Contains(stderr, secret) {
			t.Errorf("stderr prints %q:\n%.300s", secret, stderr)
		}
	}
}
