package store

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cpam/attestd/rules"
)

const samplePath = "../testdata/samples/registry.json"

func sampleText(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sampleRegistry(t testing.TB) *Registry {
	t.Helper()
	reg, err := ParseRegistry(strings.NewReader(sampleText(t)))
	if err != nil {
		t.Fatalf("sample registry refused: %v", err)
	}
	return reg
}

func compteOf(t *testing.T, reg *Registry, id string) *rules.Compte {
	t.Helper()
	for i := range reg.Comptes {
		if reg.Comptes[i].ID == id {
			return &reg.Comptes[i]
		}
	}
	t.Fatalf("no compte %s", id)
	return nil
}

func TestParseRegistrySample(t *testing.T) {
	reg := sampleRegistry(t)
	if len(reg.Organismes) != 4 || len(reg.Comptes) != 10 {
		t.Fatalf("got %d organismes and %d comptes, want 4 and 10", len(reg.Organismes), len(reg.Comptes))
	}
	benoit := compteOf(t, reg, "C-BENOIT")
	if benoit.Organisme.Libelle != "CPAM du Rhône" || benoit.Organisme.CodeRCC() != "01 691 0000" {
		t.Errorf("C-BENOIT organisme = %+v", benoit.Organisme)
	}
	if got := benoit.Adresse.Lines(); strings.Join(got, "|") != "Bâtiment B|4 place Bellecour|69002 LYON" {
		t.Errorf("C-BENOIT address lines = %q", got)
	}
	claire, lucas := benoit.Beneficiaries[1], benoit.Beneficiaries[3]
	if claire.NomUsage != "PEIGNE" || claire.Qualite != rules.QualiteConjoint {
		t.Errorf("Claire = %+v", claire)
	}
	wantETM := []rules.Exoneration{{Motif: "INV", Period: rules.Period{Start: rules.MustDate("2025-05-01")}}}
	if len(lucas.ETM) != 1 || lucas.ETM[0] != wantETM[0] || !lucas.ETM[0].OpenEnded() {
		t.Errorf("Lucas ETM = %+v, want %+v", lucas.ETM, wantETM)
	}
	if lucas.Rang != 2 || lucas.DateNaissance != rules.MustDate("2015-03-02") {
		t.Errorf("Lucas rang/birth = %d %s", lucas.Rang, lucas.DateNaissance)
	}
	if c := compteOf(t, reg, "C-MARC"); c.Adresse != nil {
		t.Errorf("C-MARC address = %+v, want none (null)", c.Adresse)
	}
	if c := compteOf(t, reg, "C-INES"); !c.NPAI || c.Adresse == nil {
		t.Errorf("C-INES NPAI = %v, address %v: want flagged with its address", c.NPAI, c.Adresse)
	}
	if c := compteOf(t, reg, "C-SOPHIE"); c.Beneficiaries[0].Droits[0].End != rules.MustDate("2025-06-30") {
		t.Errorf("C-SOPHIE rights = %+v", c.Beneficiaries[0].Droits)
	}
	if n := compteOf(t, reg, "C-MARIE").Beneficiaries[0].NIR; n != "293082A00401264" {
		t.Errorf("Corsican NIR = %q", n)
	}
}

// problemsOf returns the problems of a refused registry, failing the test
// when it was accepted.
func problemsOf(t *testing.T, text string) ValidationErrors {
	t.Helper()
	reg, err := ParseRegistry(strings.NewReader(text))
	if err == nil {
		t.Fatal("registry accepted, want it refused")
	}
	if reg != nil {
		t.Error("a refused registry came back with data")
	}
	var ves ValidationErrors
	if !errors.As(err, &ves) {
		t.Fatalf("error %T %v is not ValidationErrors", err, err)
	}
	return ves
}

// mutate replaces old, which must occur exactly once, in text.
func mutate(t *testing.T, text, old, new string) string {
	t.Helper()
	if n := strings.Count(text, old); n != 1 {
		t.Fatalf("%q occurs %d times in the sample, want once", old, n)
	}
	return strings.Replace(text, old, new, 1)
}

// lineOf returns the line of the first occurrence of s in text.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not in text", s)
	}
	return 1 + strings.Count(text[:i], "\n")
}

func TestParseRegistryRefuses(t *testing.T) {
	sample := sampleText(t)
	// compteLine is the line of the "{" that opens compte id.
	compteLine := func(id string) int { return lineOf(t, sample, `"id": "`+id+`"`) - 1 }
	cases := []struct {
		name, old, new       string
		compte, field, probl string
	}{
		{"wrong NIR key", `"290107511104250"`, `"290107511104251"`,
			"C-EVA", "beneficiaires[0].nir", "key 51 does not match (expected 50)"},
		{"2B NIR with the key of 2A", `"293082A00401264"`, `"293082B00401264"`,
			"C-MARIE", "beneficiaires[0].nir", "key 64 does not match (expected 91)"},
		{"NIR too short", `"290107511104250"`, `"2901075111042"`,
			"C-EVA", "beneficiaires[0].nir", "13 characters and a 2-digit key expected"},
		{"end before start", `"date_fin": "2025-06-30"`, `"date_fin": "2009-06-30"`,
			"C-SOPHIE", "beneficiaires[0].droits[0].date_fin", "before date_debut"},
		{"date not ISO", `"date_naissance": "1990-10-31"`, `"date_naissance": "31/10/1990"`,
			"C-EVA", "beneficiaires[0].date_naissance", "not a date: want YYYY-MM-DD"},
		{"unknown qualité", `"qualite": "conjoint"`, `"qualite": "epouse"`,
			"C-BENOIT", "beneficiaires[1].qualite", "unknown qualité: want assure"},
		{"unknown organisme", `"organisme": "01201"`, `"organisme": "01999"`,
			"C-MARIE", "organisme", "unknown organisme"},
		{"duplicate NIR in a compte", `"115036912324660"`, `"215036912324511"`,
			"C-BENOIT", "beneficiaires[3].nir", "duplicate NIR: already held by compte C-BENOIT beneficiaires[2]"},
		{"duplicate NIR across comptes", `"181046912330284"`, `"290107511104250"`,
			"C-THOMAS", "beneficiaires[0].nir", "duplicate NIR: already held by compte C-EVA beneficiaires[0]"},
		{"duplicate compte id", `"id": "C-THOMAS"`, `"id": "C-JULIE"`,
			"C-JULIE", "id", "duplicate compte id"},
		{"e-mail without @", `"eva.dupont@example.org"`, `"eva.dupont.example.org"`,
			"C-EVA", "email", "not an e-mail address"},
		{"e-mail with a display name", `"eva.dupont@example.org"`, `"Eva <eva.dupont@example.org>"`,
			"C-EVA", "email", "bare address"},
		{"misspelt field", `"adresse_npai": true`, `"adresse_npia": true`,
			"C-INES", "", `unknown field "adresse_npia"`},
		{"wrong type", `"rang_naissance": 2`, `"rang_naissance": "2"`,
			"C-BENOIT", "beneficiaires.rang_naissance", "want a JSON number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ves := problemsOf(t, mutate(t, sample, tc.old, tc.new))
			if len(ves) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ves), ves)
			}
			e := ves[0]
			if e.CompteID != tc.compte || e.Field != tc.field || !strings.Contains(e.Problem, tc.probl) {
				t.Errorf("got compte %q field %q problem %q\nwant compte %q field %q problem containing %q",
					e.CompteID, e.Field, e.Problem, tc.compte, tc.field, tc.probl)
			}
			changed := compteLine(tc.compte)
			if tc.name == "duplicate compte id" {
				changed = compteLine("C-THOMAS")
			}
			if tc.name == "wrong type" { // located at the value itself
				changed = lineOf(t, sample, `"rang_naissance": 2`)
			}
			if e.Line != changed {
				t.Errorf("line %d, want %d", e.Line, changed)
			}
			want := "compte " + tc.compte + ": "
			if !strings.Contains(e.Error(), want) || !strings.HasPrefix(e.Error(), "line ") {
				t.Errorf("message %q does not name the line and %q", e.Error(), want)
			}
		})
	}
}

// Problems name the record and the field but never quote personal data.
func TestParseRegistryKeepsPersonalDataOut(t *testing.T) {
	sample := sampleText(t)
	text := mutate(t, sample, `"date_naissance": "1990-10-31"`, `"date_naissance": "1990-13-31"`)
	text = mutate(t, text, `"290107511104250"`, `"290107511104251"`)
	text = mutate(t, text, `"181046912330284"`, `"185066912308738"`) // Benoit's NIR on Thomas
	ves := problemsOf(t, text)
	if len(ves) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(ves), ves)
	}
	for _, secret := range []string{"1990", "290107511104", "185066912308738", "DUPONT", "EVA,"} {
		if strings.Contains(ves.Error(), secret) {
			t.Errorf("problems quote %q:\n%v", secret, ves)
		}
	}
}

func TestParseRegistryReportsEveryProblem(t *testing.T) {
	sample := sampleText(t)
	text := mutate(t, sample, `"290107511104250"`, `"290107511104251"`)
	text = mutate(t, text, `"qualite": "conjoint"`, `"qualite": "epouse"`)
	text = mutate(t, text, `"organisme": "01201"`, `"organisme": "01999"`)
	ves := problemsOf(t, text)
	var got []string
	for _, e := range ves {
		got = append(got, e.CompteID+" "+e.Field)
	}
	want := "C-EVA beneficiaires[0].nir|C-BENOIT beneficiaires[1].qualite|C-MARIE organisme"
	if strings.Join(got, "|") != want {
		t.Errorf("problems in order %q, want %q", got, want)
	}
	if !strings.HasPrefix(ves.Error(), "3 problem(s):\nline 51: compte C-EVA: ") {
		t.Errorf("message:\n%s", ves.Error())
	}
}

func TestParseRegistryMalformedJSON(t *testing.T) {
	sample := sampleText(t)
	cases := []struct {
		name       string
		text       string
		line, col  int
		problemHas string
	}{
		{"missing comma", mutate(t, sample, `"caisse": "131",`, `"caisse": "131"`),
			lineOf(t, sample, `"caisse": "131",`) + 1, 7, "invalid character"},
		{"truncated", sample[:strings.Index(sample, `"id": "C-MARC"`)],
			lineOf(t, sample, `"id": "C-MARC"`), 7, "the file ends before the registry is complete"},
		{"empty", "", 1, 1, "the file ends"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ves := problemsOf(t, tc.text)
			if len(ves) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ves), ves)
			}
			e := ves[0]
			if e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Problem, tc.problemHas) {
				t.Errorf("got %v, want line %d column %d and %q", e, tc.line, tc.col, tc.problemHas)
			}
		})
	}
}

func TestParseRegistryFormat(t *testing.T) {
	ves := problemsOf(t, strings.Replace(sampleText(t), RegistryFormat, "attestd-registry/2", 1))
	if len(ves) != 1 || ves[0].Field != "format" || !strings.Contains(ves[0].Problem, `unsupported format: want "attestd-registry/1"`) {
		t.Errorf("got %v", ves)
	}
	ves = problemsOf(t, `{"format": "attestd-registry/1", "organismes": [], "comptes": []}`)
	if len(ves) != 1 || ves[0].Field != "comptes" || !strings.Contains(ves[0].Problem, "empty the registry") {
		t.Errorf("empty registry: got %v", ves)
	}
	ves = problemsOf(t, `[]`)
	if len(ves) != 1 || !strings.Contains(ves[0].Problem, "one JSON object") {
		t.Errorf("array: got %v", ves)
	}
}

// Registry.Validate serves registries built in code, as ImportRegistry gets
// them; its problems carry no line.
func TestRegistryValidate(t *testing.T) {
	reg := sampleRegistry(t)
	if err := reg.Validate(); err != nil {
		t.Fatalf("sample: %v", err)
	}
	reg.Comptes[0].Beneficiaries[0].Qualite = rules.QualiteEnfant
	reg.Comptes[1].Beneficiaries = append(reg.Comptes[1].Beneficiaries, reg.Comptes[1].Beneficiaries[3])
	reg.Comptes[1].Beneficiaries[4].NIR = ""
	var ves ValidationErrors
	if !errors.As(reg.Validate(), &ves) {
		t.Fatal("broken registry accepted")
	}
	var got []string
	for _, e := range ves {
		got = append(got, e.Error())
	}
	want := []string{
		`compte C-EVA: beneficiaires: no beneficiary has qualite "assure": a compte needs its ouvrant droit`,
		"compte C-BENOIT: beneficiaires[4].rang_naissance: same date of birth and rang as beneficiaires[3]: twins need distinct rangs",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
