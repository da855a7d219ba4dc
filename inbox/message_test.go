package inbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samplesDir = "../testdata/samples/requests"

func sampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample .eml in %s: %v", samplesDir, err)
	}
	return files
}

func parseSample(t *testing.T, name string) *Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(raw, DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestParseSamples reads every sample: each parses without warnings, with
// its headers, and its text says what the sample's author wrote.
func TestParseSamples(t *testing.T) {
	for _, f := range sampleFiles(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMessage(raw, DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if m.From == "" || m.MessageID == "" || m.Subject == "" || m.Date.IsZero() {
			t.Errorf("%s: From %q, Message-ID %q, Subject %q, Date %v: want all set", filepath.Base(f), m.From, m.MessageID, m.Subject, m.Date)
		}
		if len(m.Warnings) > 0 || m.Truncated {
			t.Errorf("%s: warnings %q, truncated %v: want none", filepath.Base(f), m.Warnings, m.Truncated)
		}
		if strings.TrimSpace(m.AllText()) == "" {
			t.Errorf("%s: no text", filepath.Base(f))
		}
	}
}

func TestParseSampleTexts(t *testing.T) {
	cases := []struct {
		file       string
		text       string // exact own text
		contains   []string
		notContain []string
	}{
		{file: "01-eva-simple.eml", text: "Bonjour,\n\nPouvez-vous m'envoyer mon attestation de droits ?\n\nMerci,\nEva Dupont"},
		{file: "02-benoit-famille-mentions.eml", contains: []string{"exonération du ticket modérateur et la CMU", "Benoît Peigne"}},
		{file: "03-benoit-fille-latin1.eml", text: "Bonjour, il me faudrait l'attestation de droits de ma fille Léa.\nMerci d'avance"},
		{file: "06-ines-npai-html.eml", text: "Bonjour,\n\nPourriez-vous m'adresser une attestation de droits à mon nom ?\n\nInès Garcia"},
		{file: "09-karim-famille.eml", text: "Bonjour,\nune attestation de droits pour toute la famille s'il vous plaît."},
		{file: "19-reponse-citee.eml", text: "Finalement c'est pour Lucas seulement, merci.", notContain: []string{"famille", "a écrit"}},
		{file: "20-agent-transfert.eml", contains: []string{"NIR 2 93 08 2A 004 012 64"}, notContain: []string{"Marie-Ange"}},
		{file: "22-passerelle-messagerie.eml", contains: []string{"ma fille Léa"}},
	}
	for _, c := range cases {
		m := parseSample(t, c.file)
		if c.text != "" && m.Text != c.text {
			t.Errorf("%s: Text = %q, want %q", c.file, m.Text, c.text)
		}
		for _, s := range c.contains {
			if !strings.Contains(m.Text, s) {
				t.Errorf("%s: Text = %q, want it to contain %q", c.file, m.Text, s)
			}
		}
		for _, s := range c.notContain {
			if strings.Contains(m.Text, s) {
				t.Errorf("%s: Text = %q, must not contain %q", c.file, m.Text, s)
			}
		}
	}
}

func TestParseSampleHeaders(t *testing.T) {
	m := parseSample(t, "01-eva-simple.eml")
	if m.From != "eva.dupont@example.org" || m.FromName != "Eva Dupont" {
		t.Errorf("From = %q %q", m.From, m.FromName)
	}
	if m.MessageID != "req-001.2094@example.org" {
		t.Errorf("MessageID = %q, want it without angle brackets", m.MessageID)
	}
	if got := m.Header.Values("Authentication-Results"); len(got) != 1 || !strings.Contains(got[0], "dmarc=pass") {
		t.Errorf("Authentication-Results = %q", got)
	}
	if m4 := parseSample(t, "04-benoit-jumeau-date.eml"); m4.Subject != "Attestation sécurité sociale" {
		t.Errorf("encoded-word subject = %q", m4.Subject)
	}
	if m15 := parseSample(t, "15-rebond.eml"); !m15.Report {
		t.Error("15-rebond: Report = false, want a multipart/report to be flagged")
	}
	if m22 := parseSample(t, "22-passerelle-messagerie.eml"); m22.Header.Get("X-Ameli-NIR") != "185066912308738" {
		t.Errorf("X-Ameli-NIR = %q", m22.Header.Get("X-Ameli-NIR"))
	}
	if m14 := parseSample(t, "14-reponse-automatique.eml"); m14.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("Auto-Submitted = %q", m14.Header.Get("Auto-Submitted"))
	}
}

func TestParseSampleForwarded(t *testing.T) {
	m := parseSample(t, "20-agent-transfert.eml")
	if len(m.Forwarded) != 1 {
		t.Fatalf("Forwarded = %+v, want the message/rfc822 part", m.Forwarded)
	}
	f := m.Forwarded[0]
	if f.From != "marie-ange.casanova@example.fr" || f.Subject != "attestation" {
		t.Errorf("forwarded From %q Subject %q", f.From, f.Subject)
	}
	if want := "Bonjour, je voudrais mon attestation de droits avec l'exonération. Marie-Ange"; f.Text != want {
		t.Errorf("forwarded Text = %q, want %q", f.Text, want)
	}
	if !strings.Contains(m.AllText(), "Marie-Ange") || !strings.Contains(m.AllText(), "L'agent d'accueil") {
		t.Errorf("AllText = %q, want both texts", m.AllText())
	}
}
