package templates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/cpam/attestd/rules"
)

// A test-only reader of testdata/samples/registry.json (attestd-registry/1)
// into rules.Compte. The store package owns the real import with its
// validation; this one only needs to be right on the sample file.

type rtPeriodJSON struct {
	Motif string  `json:"motif"`
	Debut string  `json:"date_debut"`
	Fin   *string `json:"date_fin"`
}

type rtBeneficiaryJSON struct {
	NIR           string         `json:"nir"`
	NomFamille    string         `json:"nom_famille"`
	NomUsage      string         `json:"nom_usage"`
	Prenom        string         `json:"prenom"`
	DateNaissance string         `json:"date_naissance"`
	Rang          int            `json:"rang_naissance"`
	Qualite       string         `json:"qualite"`
	Droits        []rtPeriodJSON `json:"droits"`
	Exonerations  []rtPeriodJSON `json:"exonerations"`
	C2S           []rtPeriodJSON `json:"c2s"`
}

type rtRegistryJSON struct {
	Format     string `json:"format"`
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
		NPAI          bool                `json:"adresse_npai"`
		Beneficiaires []rtBeneficiaryJSON `json:"beneficiaires"`
	} `json:"comptes"`
}

// rtRegistry is the sample registry: comptes by id, in file order too.
type rtRegistry struct {
	byID  map[string]*rules.Compte
	order []*rules.Compte
}

// compte returns the compte with id, failing the test when there is none.
func (r *rtRegistry) compte(t testing.TB, id string) *rules.Compte {
	t.Helper()
	c, ok := r.byID[id]
	if !ok {
		t.Fatalf("sample registry has no compte %q", id)
	}
	return c
}

func rtLoadRegistry(t testing.TB) *rtRegistry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "samples", "registry.json"))
	if err != nil {
		t.Fatalf("read sample registry: %v", err)
	}
	var f rtRegistryJSON
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parse sample registry: %v", err)
	}
	if f.Format != "attestd-registry/1" {
		t.Fatalf("sample registry format %q, want attestd-registry/1", f.Format)
	}
	orgs := map[string]rules.Organisme{}
	for _, o := range f.Organismes {
		orgs[o.Code] = rules.Organisme{Code: o.Code, Regime: o.Regime, Caisse: o.Caisse, Centre: o.Centre, Libelle: o.Libelle, Adresse: o.Adresse}
	}
	reg := &rtRegistry{byID: map[string]*rules.Compte{}}
	for _, jc := range f.Comptes {
		org, ok := orgs[jc.Organisme]
		if !ok {
			t.Fatalf("compte %s: unknown organisme %q", jc.ID, jc.Organisme)
		}
		c := &rules.Compte{ID: jc.ID, Email: jc.Email, Organisme: org, NPAI: jc.NPAI}
		if a := jc.Adresse; a != nil {
			c.Adresse = &rules.Address{Lignes: a.Lignes, CodePostal: a.CodePostal, Commune: a.Commune}
		}
		for _, jb := range jc.Beneficiaires {
			b := rules.Beneficiary{
				NIR:           jb.NIR,
				NomFamille:    jb.NomFamille,
				NomUsage:      jb.NomUsage,
				Prenom:        jb.Prenom,
				DateNaissance: rtDate(t, jc.ID, jb.DateNaissance),
				Rang:          jb.Rang,
				Qualite:       rules.Qualite(jb.Qualite),
			}
			for _, p := range jb.Droits {
				b.Droits = append(b.Droits, rtPeriod(t, jc.ID, p))
			}
			for _, p := range jb.Exonerations {
				b.ETM = append(b.ETM, rules.Exoneration{Period: rtPeriod(t, jc.ID, p), Motif: p.Motif})
			}
			for _, p := range jb.C2S {
				b.C2S = append(b.C2S, rtPeriod(t, jc.ID, p))
			}
			c.Beneficiaries = append(c.Beneficiaries, b)
		}
		reg.byID[c.ID] = c
		reg.order = append(reg.order, c)
	}
	return reg
}

func rtDate(t testing.TB, where, s string) rules.Date {
	t.Helper()
	d, err := rules.ParseDate(s)
	if err != nil {
		t.Fatalf("sample registry, compte %s: %v", where, err)
	}
	return d
}

func rtPeriod(t testing.TB, where string, p rtPeriodJSON) rules.Period {
	t.Helper()
	out := rules.Period{Start: rtDate(t, where, p.Debut)}
	if p.Fin != nil {
		out.End = rtDate(t, where, *p.Fin)
	}
	return out
}
