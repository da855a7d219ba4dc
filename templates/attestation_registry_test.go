package templates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

// The test-only reader of testdata/samples/registry.json. The store package
// owns the real import; these tests only need rules.Compte values.

var sampleToday = rules.MustDate("2026-11-25")

// sampleIssuedAt is the date of issue the tests render at.
var sampleIssuedAt = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

type jsonPeriod struct {
	Motif string  `json:"motif"`
	Debut string  `json:"date_debut"`
	Fin   *string `json:"date_fin"`
}

type jsonRegistry struct {
	Organismes []struct {
		Code    string   `json:"code"`
		Regime  string   `json:"regime"`
		Caisse  string   `json:"caisse"`
		Centre  string   `json:"centre"`
		Libelle string   `json:"libelle"`
		Adresse []string `json:"adresse"`
	} `json:"organismes"`
	Comptes []struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		Organisme string `json:"organisme"`
		Adresse   *struct {
			Lignes     []string `json:"lignes"`
			CodePostal string   `json:"code_postal"`
			Commune    string   `json:"commune"`
		} `json:"adresse"`
		NPAI          bool `json:"adresse_npai"`
		Beneficiaires []struct {
			NIR           string       `json:"nir"`
			NomFamille    string       `json:"nom_famille"`
			NomUsage      string       `json:"nom_usage"`
			Prenom        string       `json:"prenom"`
			DateNaissance string       `json:"date_naissance"`
			Rang          int          `json:"rang_naissance"`
			Qualite       string       `json:"qualite"`
			Droits        []jsonPeriod `json:"droits"`
			Exonerations  []jsonPeriod `json:"exonerations"`
			C2S           []jsonPeriod `json:"c2s"`
		} `json:"beneficiaires"`
	} `json:"comptes"`
}

// loadSampleComptes reads the sample registry, keyed by compte id.
func loadSampleComptes(t testing.TB) map[string]*rules.Compte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "samples", "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	var reg jsonRegistry
	if err := json.Unmarshal(raw, &reg); err != nil {
		t.Fatal(err)
	}
	orgs := map[string]rules.Organisme{}
	for _, o := range reg.Organismes {
		orgs[o.Code] = rules.Organisme{Code: o.Code, Regime: o.Regime, Caisse: o.Caisse, Centre: o.Centre,
			Libelle: o.Libelle, Adresse: o.Adresse}
	}
	period := func(p jsonPeriod) rules.Period {
		out := rules.Period{Start: mustParse(t, p.Debut)}
		if p.Fin != nil {
			out.End = mustParse(t, *p.Fin)
		}
		return out
	}
	comptes := map[string]*rules.Compte{}
	for _, c := range reg.Comptes {
		org, ok := orgs[c.Organisme]
		if !ok {
			t.Fatalf("compte %s: unknown organisme %s", c.ID, c.Organisme)
		}
		rc := &rules.Compte{ID: c.ID, Email: c.Email, Organisme: org, NPAI: c.NPAI}
		if c.Adresse != nil {
			rc.Adresse = &rules.Address{Lignes: c.Adresse.Lignes, CodePostal: c.Adresse.CodePostal, Commune: c.Adresse.Commune}
		}
		for _, b := range c.Beneficiaires {
			rb := rules.Beneficiary{NIR: b.NIR, NomFamille: b.NomFamille, NomUsage: b.NomUsage, Prenom: b.Prenom,
				DateNaissance: mustParse(t, b.DateNaissance), Rang: b.Rang, Qualite: rules.Qualite(b.Qualite)}
			for _, p := range b.Droits {
				rb.Droits = append(rb.Droits, period(p))
			}
			for _, p := range b.Exonerations {
				rb.ETM = append(rb.ETM, rules.Exoneration{Period: period(p), Motif: p.Motif})
			}
			for _, p := range b.C2S {
				rb.C2S = append(rb.C2S, period(p))
			}
			rc.Beneficiaries = append(rc.Beneficiaries, rb)
		}
		comptes[c.ID] = rc
	}
	return comptes
}

func mustParse(t testing.TB, s string) rules.Date {
	t.Helper()
	d, err := rules.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// issuedInput decides req for compte id at the sample date and fails the
// test unless the decision is Issued.
func issuedInput(t testing.TB, id string, req rules.Request, ref string) AttestationInput {
	t.Helper()
	c := loadSampleComptes(t)[id]
	if c == nil {
		t.Fatalf("no compte %s in the sample registry", id)
	}
	d := rules.Decide(c, req, sampleToday)
	if d.Outcome != rules.Issued {
		t.Fatalf("compte %s: decision %s, want issued", id, d.Outcome)
	}
	return AttestationInput{Compte: c, Decision: d, Reference: ref, IssuedAt: sampleIssuedAt}
}

// peigneFamily is the Peigne family with ETM and C2S asked.
func peigneFamily(t testing.TB) AttestationInput {
	return issuedInput(t, "C-BENOIT", rules.Request{Family: true, ETM: true, C2S: true}, "ATT-20261125-PEIGNE01")
}

// newRenderer builds the renderer or fails the test.
func newRenderer(t testing.TB) *PDFRenderer {
	t.Helper()
	r, err := NewPDFRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
