package attestation

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/text"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
)

// render renders in or fails the test.
func render(t *testing.T, in AttestationInput) []byte {
	t.Helper()
	doc, err := newRenderer(t).Render(in)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Bytes
}

func TestReadAttestationPeigneFamily(t *testing.T) {
	got, err := pdftext.ReadAttestation(render(t, peigneFamily(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := &pdftext.AttestationSummary{
		Reference:     "ATT-20261125-PEIGNE01",
		Beneficiaries: []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"},
		Mentions: map[string][]string{
			"BENOIT": {"ETM", "C2S"},
			"CLAIRE": {"C2S"},
			"LÉA":    {"C2S"},
			"LUCAS":  {"ETM", "C2S"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestReadAttestationWithoutMentions(t *testing.T) {
	// "Léa et Lucas", nothing asked: two beneficiaries, no mention.
	in := issuedInput(t, "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "Léa"}, {FirstName: "LUCAS"}}}, "ATT-LL")
	got, err := pdftext.ReadAttestation(render(t, in))
	if err != nil {
		t.Fatal(err)
	}
	want := &pdftext.AttestationSummary{Reference: "ATT-LL", Beneficiaries: []string{"LÉA", "LUCAS"}, Mentions: map[string][]string{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestReadAttestationBigFamily(t *testing.T) {
	in := bigFamily(t, 25)
	got, err := pdftext.ReadAttestation(render(t, in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	mentions := map[string][]string{}
	for _, l := range in.Decision.Listed {
		names = append(names, l.Prenom)
		for _, m := range l.Mentions() {
			mentions[l.Prenom] = append(mentions[l.Prenom], string(m))
		}
	}
	if !reflect.DeepEqual(got.Beneficiaries, names) {
		t.Errorf("beneficiaries\n got  %q\n want %q", got.Beneficiaries, names)
	}
	if !reflect.DeepEqual(got.Mentions, mentions) {
		t.Errorf("mentions\n got  %v\n want %v", got.Mentions, mentions)
	}
	if got.Reference != in.Reference {
		t.Errorf("reference %q", got.Reference)
	}
}

func TestReadAttestationRefusesOtherPDFs(t *testing.T) {
	m := maroto.New()
	m.AddRows(text.NewRow(10, "Relevé de prestations"))
	doc, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pdftext.ReadAttestation(doc.GetBytes()); !errors.Is(err, pdftext.ErrNotAttestation) {
		t.Errorf("another PDF: err = %v, want pdftext.ErrNotAttestation", err)
	}
	if _, err := pdftext.ReadAttestation([]byte("%PDF-1.4 nothing else")); err == nil {
		t.Error("a broken PDF reads as an attestation")
	}
}

// longNames is a made-up compte whose names and address are too long for
// their columns at any size: they break over several lines.
func longNames(t *testing.T) AttestationInput {
	t.Helper()
	c := &rules.Compte{
		ID: "C-LONG",
		Organisme: rules.Organisme{Regime: "01", Caisse: "131", Centre: "0000",
			Libelle: "Caisse primaire d'assurance maladie des Bouches-du-Rhône, centre de Marseille Saint-Barthélemy",
			Adresse: []string{"8 rue Jules Moulet", "13281 MARSEILLE CEDEX 06"}},
		Adresse: &rules.Address{Lignes: []string{"Appartement 1204, Résidence des Grands Chênes du Parc de la Tête d'Or, escalier C, porte gauche"},
			CodePostal: "69006", Commune: "LYON"},
	}
	for i, name := range []string{"JEAN-BAPTISTE EMMANUEL MARIE", "MARIE-ANTOINETTE-GENEVIÈVE-CHARLOTTE", "JOSÉPHINE"} {
		b := rules.Beneficiary{
			NomFamille: "DE LA TOUR D'AUVERGNE-LAURAGUAIS DE SAINT-EXUPÉRY", NomUsage: "MONTMORENCY-LAVAL DE BOURBON-PARME",
			Prenom: name, DateNaissance: rules.DateOf(time.Date(1980+i, 1, 1, 0, 0, 0, 0, time.UTC)), Rang: 1,
			Qualite: rules.QualiteAutre,
			Droits:  []rules.Period{{Start: rules.MustDate("2012-01-01")}},
			C2S:     []rules.Period{{Start: rules.MustDate("2026-01-01"), End: rules.MustDate("2026-12-31")}},
		}
		if i == 0 {
			b.Qualite = rules.QualiteAssure
		}
		c.Beneficiaries = append(c.Beneficiaries, b)
	}
	d := rules.Decide(c, rules.Request{Family: true, C2S: true}, sampleToday)
	if d.Outcome != rules.Issued {
		t.Fatalf("decision %s", d.Outcome)
	}
	return AttestationInput{Compte: c, Decision: d, Reference: "ATT-LONG", IssuedAt: sampleIssuedAt}
}

func TestReadAttestationLongNames(t *testing.T) {
	in := longNames(t)
	doc, text := renderText(t, newRenderer(t), in)
	strictContext(t, doc.Bytes)
	got, err := pdftext.ReadAttestation(doc.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"JEAN-BAPTISTE EMMANUEL MARIE", "MARIE-ANTOINETTE-GENEVIÈVE-CHARLOTTE", "JOSÉPHINE"}
	if !reflect.DeepEqual(got.Beneficiaries, names) {
		t.Errorf("beneficiaries %q, want %q", got.Beneficiaries, names)
	}
	for _, n := range names {
		if !reflect.DeepEqual(got.Mentions[n], []string{"C2S"}) {
			t.Errorf("%s: mentions %v", n, got.Mentions[n])
		}
	}
	// Every word of the long address and organisme is printed.
	split := func(r rune) bool { return r == ' ' || r == '-' || r == '\t' || r == '\n' }
	for _, w := range strings.FieldsFunc("Appartement 1204, Résidence des Grands Chênes du Parc de la Tête d'Or, escalier C, porte gauche "+
		"Caisse primaire d'assurance maladie des Bouches-du-Rhône, centre de Marseille Saint-Barthélemy Autre ayant droit", split) {
		if !slices.Contains(strings.FieldsFunc(text, split), w) {
			t.Errorf("%q is missing from the text", w)
		}
	}
}
