package daemon_test

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cpam/attestd/internal/pdftext"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// padName fills s with "É" up to n characters: the longest name the
// registry allows is 80.
func padName(s string, n int) string { return padWith(s, "É", n) }

// padWith fills s with fill up to n characters.
func padWith(s, fill string, n int) string {
	return s + strings.Repeat(fill, n-utf8.RuneCountInString(s))
}

// oddRegistry is the sample registry with the longest and oddest names and
// addresses the import allows, on Eva's and Benoit's comptes.
func oddRegistry(t *testing.T) *store.Registry {
	t.Helper()
	reg, err := store.ParseRegistry(bytes.NewReader(samples.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	names := []struct{ nom, usage, prenom string }{
		{padName("N’GUESSAN-KOUASSI D'ALMEIDA ŒSTERGÅRD-ŁUKASZEWSKA DE LA TOUR ", 80), "", padWith("Marie-Ève Anaïs ÆLFRIC Nguyễn ǅemal Þóra ", "ß", 80)}, // ß is SS in the file name,
		// One word of 80 letters: nothing to break it at.
		{strings.Repeat("W", 80), padName("D'", 80), strings.Repeat("Ŀ", 80)},
		{"'-'A", padName("--", 80), "A"},
		{padName("ÿ ", 80), padName("' ", 80), padName("-", 80)},
	}
	for i := range reg.Comptes {
		c := &reg.Comptes[i]
		switch c.ID {
		case "C-EVA":
			b := &c.Beneficiaries[0]
			b.NomFamille, b.NomUsage, b.Prenom = names[0].nom, names[0].usage, names[0].prenom
			c.Adresse.Lignes = []string{padName("Bât. B, esc. 2 – appt n° 12 bis (c/o « Mme X ») ", 80),
				strings.Repeat("8", 80), "{{.Reference}} <b>", "a", "b", "c"}
			c.Adresse.CodePostal, c.Adresse.Commune = "AB-12 3456", padName("SAINT-RÉMY ", 60)
		case "C-BENOIT":
			for j := range c.Beneficiaries {
				b := &c.Beneficiaries[j]
				b.NomFamille, b.NomUsage, b.Prenom = names[j].nom, names[j].usage, names[j].prenom
			}
		}
	}
	reg.Organismes[0].Libelle = padName("CPAM de Paris « Assurance Maladie » ", 120)
	return reg
}

// Whatever names the registry allows, the attestation renders and goes
// out through the real SMTP path, with a file name the outbox accepts.
func TestOddestAllowedNamesAreAnswered(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "attestd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.ImportRegistry(ctx, oddRegistry(t)); err != nil {
		t.Fatalf("the registry refused names it should allow: %v", err)
	}
	env := newLocalEnv(t)
	d := start(t, env, testConfig(t), daemon.Options{Store: db})
	reqs := map[string]bool{"01-eva-simple.eml": true, "02-benoit-famille-mentions.eml": true}
	for _, r := range samples.Requests() {
		if reqs[r.Name] {
			env.deliver(t, r.Raw)
		}
	}
	for _, res := range d.collect(t, len(reqs), 60*time.Second) {
		if res.Outcome != rules.Issued {
			t.Errorf("%s: outcome %s (%s), want issued", res.MessageID, res.Outcome, res.Detail)
		}
	}
	sent := env.sent(t)
	if len(sent) != len(reqs) {
		t.Fatalf("%d replies reached the SMTP server, want %d", len(sent), len(reqs))
	}
	fileName := regexp.MustCompile(`^attestation-droits-(famille-)?[A-Z0-9-]+-20261125\.pdf$`)
	for _, m := range sent {
		rp := readReply(t, m)
		if !fileName.MatchString(rp.pdfName) || len(rp.pdfName) > 120 {
			t.Errorf("attachment name %q (%d characters)", rp.pdfName, len(rp.pdfName))
		}
		sum, err := pdftext.ReadAttestation(rp.pdf)
		if err != nil {
			t.Errorf("%s: the PDF does not read back: %v", rp.pdfName, err)
			continue
		}
		want := 1
		if strings.Contains(rp.pdfName, "famille") {
			want = 4
		}
		if len(sum.Beneficiaries) != want {
			t.Errorf("%s lists %q, want %d beneficiaries", rp.pdfName, sum.Beneficiaries, want)
		}
	}
}
