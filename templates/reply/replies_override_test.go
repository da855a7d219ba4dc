package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpam/attestd/rules"
)

// rtOverrideDir writes files into a fresh directory and returns it.
func rtOverrideDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRepliesOverrideReplacesOneFileOnly(t *testing.T) {
	reg := rtLoadRegistry(t)
	dir := rtOverrideDir(t, map[string]string{
		"rights_closed.txt.tmpl": "{{template \"greeting\" .}}\n\nTEXTE LOCAL : appelez le {{.Service.Phone}}.\n\n{{template \"signature\" .}}\n",
		"README.txt":             "not a template: ignored",
	})
	r, err := LoadReplies(dir)
	if err != nil {
		t.Fatalf("LoadReplies(%s): %v", dir, err)
	}
	def := rtLoad(t)
	got, want := rtAllBodies(t, r, reg), rtAllBodies(t, def, reg)
	for _, name := range []string{"sophie-droits-fermes", "karim-fils-adam"} {
		if !strings.Contains(got[name].Text, "TEXTE LOCAL : appelez le 3646.") || strings.Contains(got[name].Text, "n'a pas abouti") {
			t.Errorf("%s: overridden text not used:\n%s", name, got[name].Text)
		}
		if got[name].HTML != want[name].HTML {
			t.Errorf("%s: HTML changed although only the text was overridden:\n%s", name, got[name].HTML)
		}
	}
	for name, b := range got {
		if name == "sophie-droits-fermes" || name == "karim-fils-adam" {
			continue
		}
		if b != want[name] {
			t.Errorf("%s: reply changed by an override of another outcome:\n%s", name, b.Text)
		}
	}
}

func TestRepliesOverrideSharedFile(t *testing.T) {
	dir := rtOverrideDir(t, map[string]string{
		// A byte order mark, as some editors write, must not reach the mail.
		"_common.txt.tmpl": "\xef\xbb\xbf" + `{{define "greeting"}}Bonjour,{{end}}{{define "contact"}}au {{.Service.Phone}}{{end}}{{define "signature"}}La CPAM{{end}}`,
	})
	r, err := LoadReplies(dir)
	if err != nil {
		t.Fatalf("LoadReplies: %v", err)
	}
	b, err := r.Generic(GenericData{Outcome: rules.Failed, Service: DefaultServiceInfo()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.Text, "Bonjour,\n") || !strings.HasSuffix(b.Text, "La CPAM\n") {
		t.Errorf("shared override not used by the failed reply:\n%q", b.Text)
	}
	if !strings.Contains(b.HTML, "Madame, Monsieur,") {
		t.Errorf("HTML changed by an override of the text's shared file:\n%s", b.HTML)
	}
}

func TestRepliesBadOverrideFailsNamingTheFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		text string
		want string // besides the file's path
	}{
		{"syntax", "issued.txt.tmpl", "{{if .Family}}famille", "unexpected EOF"},
		{"syntax html", "failed.html.tmpl", "<p>{{.Reference</p>", "failed.html.tmpl"},
		{"unknown field", "issued.html.tmpl", "{{template \"greeting\" .}}{{.Nom}}{{template \"signature\" .}}", "Nom"},
		{"unknown field in a branch taken with a full request", "issued.txt.tmpl", "x{{if .Family}}{{.Adresse}}{{end}}", "Adresse"},
		{"unknown field in a branch taken with a minimal request", "issued.txt.tmpl", "x{{if not .NotCovered}}{{.NIR}}{{end}}", "NIR"},
		{"personal field in a generic reply", "sender_unknown.txt.tmpl", "{{range .Beneficiaries}}{{.FirstName}}{{end}}", "Beneficiaries"},
		{"missing key", "nir_invalid.txt.tmpl", "{{.Service.Fax}}", "Fax"},
		{"shared file syntax", "_common.html.tmpl", "{{define \"greeting\"}}<p>{{end}", "bad character"},
		{"shared file field", "_common.txt.tmpl", `{{define "greeting"}}Bonjour{{end}}{{define "contact"}}{{end}}{{define "signature"}}{{.Service.Team}} {{.Compte}}{{end}}`, "Compte"},
		{"shared file HTML context", "_common.html.tmpl", `{{define "greeting"}}<a href="{{end}}{{define "contact"}}{{end}}{{define "signature"}}x{{end}}`, "non-text context"},
		{"empty", "rights_closed.txt.tmpl", "{{/* nothing */}}\n", "empty"},
		{"misspelt name", "isued.txt.tmpl", "Bonjour", "matches no reply template"},
		{"not UTF-8", "failed.txt.tmpl", "Ch\xe8re madame", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := rtOverrideDir(t, map[string]string{tc.file: tc.text})
			r, err := LoadReplies(dir)
			if err == nil {
				t.Fatalf("LoadReplies accepted a bad %s", tc.file)
			}
			if r != nil {
				t.Error("LoadReplies returned replies along with its error")
			}
			if msg := err.Error(); !strings.Contains(msg, filepath.Join(dir, tc.file)) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q should name %s and say %q", msg, filepath.Join(dir, tc.file), tc.want)
			}
			t.Log(err)
		})
	}
}

func TestRepliesMissingOverrideDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	if _, err := LoadReplies(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("LoadReplies(%s) = %v, want an error naming the directory", dir, err)
	}
}

// Reload puts the override directory's current texts in place; a broken
// file leaves the templates in use as they were.
func TestRepliesReload(t *testing.T) {
	common := func(sig string) string {
		return `{{define "greeting"}}Bonjour,{{end}}{{define "contact"}}au {{.Service.Phone}}{{end}}{{define "signature"}}` + sig + `{{end}}`
	}
	dir := rtOverrideDir(t, map[string]string{"_common.txt.tmpl": common("Signé A")})
	r, err := LoadReplies(dir)
	if err != nil {
		t.Fatal(err)
	}
	text := func() string {
		t.Helper()
		b, err := r.Generic(GenericData{Outcome: rules.Failed, Service: DefaultServiceInfo()})
		if err != nil {
			t.Fatal(err)
		}
		return b.Text
	}
	if !strings.HasSuffix(text(), "Signé A\n") {
		t.Fatalf("before reload: %q", text())
	}
	rtOverrideFile(t, dir, "_common.txt.tmpl", common("Signé B"))
	if err := r.Reload(dir); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(text(), "Signé B\n") {
		t.Fatalf("after reload: %q", text())
	}
	rtOverrideFile(t, dir, "_common.txt.tmpl", `{{define "greeting"}}Bonjour,{{end`)
	err = r.Reload(dir)
	if err == nil || !strings.Contains(err.Error(), "_common.txt.tmpl") {
		t.Fatalf("reload of a broken file: %v; want an error naming it", err)
	}
	if !strings.HasSuffix(text(), "Signé B\n") {
		t.Fatalf("a failed reload changed the templates in use: %q", text())
	}
}

func rtOverrideFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
