package templates

import (
	"errors"
	"reflect"
	"testing"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/text"

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
	got, err := ReadAttestation(render(t, peigneFamily(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := &AttestationSummary{
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
	got, err := ReadAttestation(render(t, in))
	if err != nil {
		t.Fatal(err)
	}
	want := &AttestationSummary{Reference: "ATT-LL", Beneficiaries: []string{"LÉA", "LUCAS"}, Mentions: map[string][]string{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestReadAttestationBigFamily(t *testing.T) {
	in := bigFamily(t, 25)
	got, err := ReadAttestation(render(t, in))
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
	if _, err := ReadAttestation(doc.GetBytes()); !errors.Is(err, ErrNotAttestation) {
		t.Errorf("another PDF: err = %v, want ErrNotAttestation", err)
	}
	if _, err := ReadAttestation([]byte("%PDF-1.4 nothing else")); err == nil {
		t.Error("a broken PDF reads as an attestation")
	}
}
