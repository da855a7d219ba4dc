package request

import (
	"strings"
	"testing"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/samples"
)

// parseSample parses a sample request as the daemon does before reading it.
func parseSample(t *testing.T, name string) *inbox.Message {
	t.Helper()
	for _, r := range samples.Requests() {
		if r.Name == name {
			m, err := inbox.ParseMessage(r.Raw, inbox.DefaultLimits())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return m
		}
	}
	t.Fatalf("no sample request %s", name)
	return nil
}

// TestReadMessageSamples runs the reader over the parsed samples, as the
// pipeline does: each reads as expected.json needs.
func TestReadMessageSamples(t *testing.T) {
	cases := map[string]string{
		"01-eva-simple.eml":               "att [] ",
		"02-benoit-famille-mentions.eml":  "att family ETM C2S",
		"03-benoit-fille-latin1.eml":      "att [{daughter LEA}] ",
		"04-benoit-jumeau-date.eml":       "att [{LUCAS 2015-03-02}] ",
		"05-marc-sans-adresse.eml":        "att [] ",
		"06-ines-npai-html.eml":           "att [] ",
		"07-sophie-droits-fermes.eml":     "att [] ",
		"10-expediteur-inconnu.eml":       "att [] ",
		"11-adresse-partagee-ambigue.eml": "att [] ",
		"16-usurpation.eml":               "att [] ",
		"08-karim-fils-adam.eml":          "att [{son ADAM}] ",
		"09-karim-famille.eml":            "att family ",
		"12-adresse-partagee-date.eml":    "att [] ",
		"13-autre-demande-ij.eml":         "other [] ",
		"17-beneficiaire-inconnu.eml":     "att [{son HUGO}] ",
		"18-mention-non-ouverte.eml":      "att [] ETM",
		"19-reponse-citee.eml":            "att [{LUCAS}] ",
		"20-agent-transfert.eml":          "att [] ETM",
		"21-deux-enfants.eml":             "att [{LEA} {LUCAS}] C2S",
		"22-passerelle-messagerie.eml":    "att [{daughter LEA}] ",
	}
	// The daemon reads again with the first names of the compte found: the
	// reading must not change (a signature stays the author's).
	known := map[string][]string{
		"eva": {"EVA"}, "benoit": {"BENOIT", "CLAIRE", "LÉA", "LUCAS"}, "karim": {"KARIM", "ADAM", "NORA"},
		"famille": {"JULIE", "THOMAS"}, "marc": {"MARC"}, "ines": {"INÈS"}, "sophie": {"SOPHIE"}, "agent": {"MARIE-ANGE"}, "messagerie": {"BENOIT", "CLAIRE", "LÉA", "LUCAS"},
	}
	for file, want := range cases {
		m := parseSample(t, file)
		local, _, _ := strings.Cut(m.From, ".")
		local, _, _ = strings.Cut(local, "@")
		for _, names := range [][]string{nil, known[local]} {
			if got := readSummary(ReadMessage(m, &ReadOptions{Known: names})); strings.TrimSpace(got) != strings.TrimSpace(want) {
				t.Errorf("%s with known %q: read %q, want %q", file, names, got, want)
			}
		}
	}
	r := ReadMessage(parseSample(t, "20-agent-transfert.eml"), nil)
	if len(r.NIRs) != 1 || r.NIRs[0] != (FoundNIR{"293082A00401264", true}) {
		t.Errorf("20: NIRs = %+v", r.NIRs)
	}
	if authorString(r.Author) != authorString(Author{FirstNames: []string{"MARIE-ANGE"}}) {
		t.Errorf("20: Author = %+v, want the forwarded message's signature", r.Author)
	}
}

func readSummary(r Reading) string {
	got := "att"
	switch {
	case r.OtherDocument:
		got = "other"
	case !r.Attestation:
		got = "none"
	}
	if r.Request.Family {
		got += " family "
	} else {
		got += " " + targetsString(r.Request.Targets) + " "
	}
	if r.Request.ETM {
		got += "ETM "
	}
	if r.Request.C2S {
		got += "C2S"
	}
	return got
}
