package attestation

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cpam/attestd/rules"
)

func TestAttestationFileName(t *testing.T) {
	ascii := regexp.MustCompile(`^[a-z-]+-[A-Z0-9-]+-[0-9]{8}\.pdf$`)
	for _, tc := range []struct {
		id   string
		req  rules.Request
		want string
	}{
		{"C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "lea"}}}, "attestation-droits-PEIGNE-LEA-20261125.pdf"},
		{"C-BENOIT", rules.Request{Family: true}, "attestation-droits-famille-PEIGNE-20261125.pdf"},
		// Two beneficiaries without "toute la famille": still a family document.
		{"C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "lea"}, {FirstName: "lucas"}}}, "attestation-droits-famille-PEIGNE-20261125.pdf"},
		// The whole family of a single person is still asked as a family.
		{"C-EVA", rules.Request{Family: true}, "attestation-droits-famille-DUPONT-20261125.pdf"},
		{"C-MARIE", rules.Request{}, "attestation-droits-CASANOVA-MARIE-ANGE-20261125.pdf"},
		// The usage name is the name people know.
		{"C-ANA", rules.Request{}, "attestation-droits-DURAND-ANA-20261125.pdf"},
		{"C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "claire"}}}, "attestation-droits-PEIGNE-CLAIRE-20261125.pdf"},
	} {
		got := AttestationFileName(issuedInput(t, tc.id, tc.req, "R"))
		if got != tc.want {
			t.Errorf("%s %+v: %q, want %q", tc.id, tc.req, got, tc.want)
		}
		if !ascii.MatchString(got) {
			t.Errorf("%q is not plain ASCII", got)
		}
	}
}

func TestASCIIName(t *testing.T) {
	for in, want := range map[string]string{
		"LÉA":                "LEA",
		"DA SILVA":           "DA-SILVA",
		"Œdipe l'Été":        "OEDIPE-L-ETE",
		"  N'GUESSAN--KOUA ": "N-GUESSAN-KOUA",
		"Łukasz Straße":      "LUKASZ-STRASSE",
		"ǅemal ﬁlip":         "DZEMAL-FILIP",
		"Дмитрий":            "INCONNU",
		// Cut to 40 characters, at a dash in the last half.
		strings.Repeat("A", 100000):                         strings.Repeat("A", 40),
		"WOLFESCHLEGELSTEINHAUSENBERGERDORFF VON ALTENBURG": "WOLFESCHLEGELSTEINHAUSENBERGERDORFF-VON",
		"JEAN-BAPTISTE-EMMANUEL-MARIE-JOSEPH-ALEXANDRE":     "JEAN-BAPTISTE-EMMANUEL-MARIE-JOSEPH",
		"": "INCONNU",
	} {
		if got := asciiName(in); got != want {
			t.Errorf("asciiName(%q) = %q, want %q", in, got, want)
		}
	}
}
