package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The import refuses what could never be rendered: each rule of the text
// fields, with the compte and field named and the value never printed.
func TestParseRegistryTextRules(t *testing.T) {
	sample := sampleText(t)
	long := func(n int) string { return strings.Repeat("A", n) }
	cases := []struct {
		name     string
		old, new string // new is a JSON literal
		secret   string // the refused value, or its telling part: never in the message
		compte   string
		field    string
		problem  string
	}{
		{"family name too long", `"nom_famille": "DUPONT"`, jsonString(long(81)), long(81),
			"C-EVA", "beneficiaires[0].nom_famille", "too long: 81 characters, at most 80"},
		{"100,000-character family name", `"nom_famille": "DUPONT"`, jsonString(long(100000)), long(100),
			"C-EVA", "beneficiaires[0].nom_famille", "too long: 100000 characters, at most 80"},
		{"template action in a first name", `"prenom": "EVA"`, jsonString("EVA {{.Reference}}"), "{{",
			"C-EVA", "beneficiaires[0].prenom", "character 5 is not allowed: letters (accented or not), space, hyphen and apostrophe only"},
		{"markup in a first name", `"prenom": "EVA"`, jsonString("<script>alert(1)</script>"), "script",
			"C-EVA", "beneficiaires[0].prenom", "character 1 is not allowed"},
		{"bidi override in a first name", `"prenom": "EVA"`, jsonString("EVA\u202eLIVE"), "\u202e",
			"C-EVA", "beneficiaires[0].prenom", "character 4 is not allowed"},
		{"digit in a first name", `"prenom": "EVA"`, jsonString("EVA2"), "EVA2",
			"C-EVA", "beneficiaires[0].prenom", "character 4 is not allowed"},
		{"combining accent", `"prenom": "EVA"`, jsonString("E\u0301VA"), "\u0301",
			"C-EVA", "beneficiaires[0].prenom", "a combining accent at character 2: write each accented letter as one character"},
		{"no letter", `"prenom": "EVA"`, jsonString("'-'"), "'-'",
			"C-EVA", "beneficiaires[0].prenom", "holds no letter"},
		{"another script in a usage name", `"nom_usage": "",
          "prenom": "EVA"`, `"nom_usage": "Дюпон", "prenom": "EVA"`, "Дюпон",
			"C-EVA", "beneficiaires[0].nom_usage", "character 1 is not allowed"},
		{"control character in an address line", `"12 rue des Lilas"`, jsonString("12 rue des\aLilas"), "Lilas",
			"C-EVA", "adresse.lignes[0]", "character 11 is not allowed: letters, digits, spaces and common punctuation only"},
		{"address line too long", `"12 rue des Lilas"`, jsonString("12 rue " + long(80)), long(80),
			"C-EVA", "adresse.lignes[0]", "too long: 87 characters, at most 80"},
		{"too many address lines", `"12 rue des Lilas"`, `"a", "b", "c", "d", "e", "f", "g"`, "",
			"C-EVA", "adresse.lignes", "too many lines: 7, at most 6"},
		{"code postal with a slash", `"code_postal": "69002"`, jsonString("75/11"), "75/11",
			"C-BENOIT", "adresse.code_postal", "letters, digits, space and hyphen only"},
		{"code postal too long", `"code_postal": "69002"`, jsonString("75011750117"), "75011750117",
			"C-BENOIT", "adresse.code_postal", "too long: 11 characters, at most 10"},
		{"line break in a commune", `"code_postal": "69002",
        "commune": "LYON"`, `"code_postal": "69002", "commune": "PARIS\nCEDEX"`, "CEDEX",
			"C-BENOIT", "adresse.commune", "character 6 is not allowed"},
		{"commune too long", `"code_postal": "69002",
        "commune": "LYON"`, `"code_postal": "69002", "commune": "` + long(61) + `"`, long(61),
			"C-BENOIT", "adresse.commune", "too long: 61 characters, at most 60"},
		{"header injection in an e-mail", `"eva.dupont@example.org"`, jsonString("eva@example.org\r\nBcc: all@example.net"), "Bcc",
			"C-EVA", "email", "not an e-mail address: want printable ASCII"},
		{"e-mail too long", `"eva.dupont@example.org"`, jsonString(long(250) + "@example.org"), long(250),
			"C-EVA", "email", "too long: 262 bytes, at most 254"},
		{"e-mail outside ASCII", `"eva.dupont@example.org"`, jsonString("éva@example.org"), "éva",
			"C-EVA", "email", "not an e-mail address: want printable ASCII"},
		{"e-mail list", `"eva.dupont@example.org"`, jsonString("eva@example.org, bob@example.org"), "bob",
			"C-EVA", "email", "not an e-mail address: want one address"},
		{"NIR too long", `"290107511104250"`, jsonString(strings.Repeat("2901075111042 50 ", 3)), "2901075111042",
			"C-EVA", "beneficiaires[0].nir", "too long: 51 characters, at most 32"},
		{"NIR written as a number", `"nir": "290107511104250"`, `290107511104250`, "290107511104250",
			"C-EVA", "beneficiaires.nir", "wrong type: want a JSON string, got a number"},
		{"motif too long", `"motif": "ALD"`, jsonString(long(81)), long(81),
			"C-BENOIT", "beneficiaires[0].exonerations[0].motif", "too long: 81 characters, at most 80"},
		{"organisme name with a line break", `"libelle": "CPAM de Paris"`, jsonString("CPAM\r\nde Paris"), "de Paris",
			"", "organismes[0].libelle", "character 5 is not allowed"},
		{"organisme name too long", `"libelle": "CPAM de Paris"`, jsonString(long(121)), long(121),
			"", "organismes[0].libelle", "too long: 121 characters, at most 120"},
		{"organisme address with a bidi override", `"21 rue Georges Auric"`, jsonString("21 rue\u202eGeorges"), "\u202e",
			"", "organismes[0].adresse[0]", "character 7 is not allowed"},
		{"organisme code with markup", `"code": "01751"`, jsonString("<b>"), "<b>",
			"", "organismes[0].code", "letters, digits, '.', '_' and '-' only"},
		{"compte id with a line break", `"id": "C-EVA"`, jsonString("C-EVA\r\nX"), "C-EVA",
			"", "comptes[0].id", "character 6 is not allowed: letters, digits, '.', '_' and '-' only"},
		{"compte id too long", `"id": "C-EVA"`, jsonString(long(65)), long(65),
			"", "comptes[0].id", "too long: 65 characters, at most 64"},
		{"odd unknown field", `"adresse_npai": false,
      "beneficiaires": [
        {
          "nir": "290107511104250"`, `"adresse_npai": false, "x\u202e\r\n": 1, "beneficiaires": [{"nir": "290107511104250"`, "x\u202e",
			"C-EVA", "", "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old
			if !strings.Contains(old, "\n") && strings.HasPrefix(old, `"`) && strings.Contains(old, `": `) {
				// A "key": value pair: replace the value only.
				key, _, _ := strings.Cut(old, ": ")
				tc.new = key + ": " + tc.new
			}
			ves := problemsOf(t, mutate(t, sample, old, tc.new))
			var found bool
			for _, e := range ves {
				if e.CompteID == tc.compte && e.Field == tc.field && strings.Contains(e.Problem, tc.problem) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem with compte %q, field %q and %q among:\n%v", tc.compte, tc.field, tc.problem, ves)
			}
			if tc.secret != "" && strings.Contains(ves.Error(), tc.secret) {
				t.Errorf("the message prints the refused value %q:\n%v", tc.secret, ves)
			}
			if strings.ContainsAny(ves.Error(), "\r\a\u202e") {
				t.Errorf("the message holds a control or bidi character: %q", ves.Error())
			}
		})
	}
}

// What the rules allow: names with accents, ligatures, hyphens,
// apostrophes and spaces, addresses with the punctuation of real ones.
func TestParseRegistryAcceptsOddButValidText(t *testing.T) {
	sample := sampleText(t)
	text := mutate(t, sample, `"nom_famille": "DUPONT"`, `"nom_famille": "N’GUESSAN-KOUASSI D'ALMEIDA ŒSTERGÅRD-ŁUKASZEWSKA Straße"`)
	text = mutate(t, text, `"prenom": "EVA"`, `"prenom": "Marie-Ève Anaïs ÆLFRIC Nguyễn"`)
	text = mutate(t, text, `"12 rue des Lilas"`, `"Bât. B, esc. 2 – appt n° 12 bis (c/o « Mme X »)", "BP 40 & 41 ; 3e étage"`)
	text = mutate(t, text, `"code_postal": "69002",
        "commune": "LYON"`, `"code_postal": "69002", "commune": "SAINT-RÉMY-EN-BOUZEMONT-SAINT-GENEST-ET-ISSON"`)
	text = mutate(t, text, `"eva.dupont@example.org"`, `"`+strings.Repeat("e", 64)+`@`+strings.Repeat("x", 177)+`.example.org"`)
	reg, err := ParseRegistry(strings.NewReader(text))
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if got := compteOf(t, reg, "C-EVA").Beneficiaries[0].Prenom; got != "Marie-Ève Anaïs ÆLFRIC Nguyễn" {
		t.Errorf("first name read as %q", got)
	}
}

// A refused compte loads nothing at all, even through ImportRegistry with
// a registry built in code: the store keeps the registry it had.
func TestImportRegistryRefusesUnrenderableNames(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		reg := importSample(t, db)
		bad := sampleRegistry(t)
		bad.Comptes[0].Beneficiaries[0].NomFamille = strings.Repeat("X", 100000)
		bad.Comptes[0].Beneficiaries[0].Prenom = "{{.Nom}}<script>\u202e"
		bad.Comptes[2].Email = "marc@example.com\r\nBcc: all@example.net"
		err := db.ImportRegistry(ctx, bad)
		var ves ValidationErrors
		if !errors.As(err, &ves) || len(ves) != 3 {
			t.Fatalf("got %v, want 3 problems", err)
		}
		for _, secret := range []string{"XXXX", "{{", "script", "Bcc"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error prints %q: %v", secret, err)
			}
		}
		checkRegistry(t, db, reg)
	})
}
