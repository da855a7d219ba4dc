package attestation

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
)

// renderText renders in and returns the document and its extracted text.
func renderText(t *testing.T, r *PDFRenderer, in AttestationInput) (*Document, string) {
	t.Helper()
	doc, err := r.Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	text, err := pdftext.ExtractText(doc.Bytes)
	if err != nil {
		t.Fatalf("pdftext.ExtractText: %v", err)
	}
	return doc, text
}

// wantLines fails unless every want is a whole line of text (cells joined by
// tabs, as pdftext.ExtractText writes them).
func wantLines(t *testing.T, text string, want ...string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(strings.ReplaceAll(text, "\f", ""), "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("no line %q in:\n%s", w, text)
		}
	}
}

// wantContains fails unless text contains every want.
func wantContains(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}
}

// motifWords matches the ETM reasons, which are medical data.
var motifWords = regexp.MustCompile(`\b(ALD|INV|MAT)\b`)

func TestRenderPeigneFamily(t *testing.T) {
	r := newRenderer(t)
	doc, text := renderText(t, r, peigneFamily(t))

	if doc.FileName != "attestation-droits-famille-PEIGNE-20261125.pdf" {
		t.Errorf("file name %q", doc.FileName)
	}
	wantLines(t, text,
		"CPAM du Rhône\tDélivrée le 25/11/2026",
		"276 cours Émile Zola\tRéférence : ATT-20261125-PEIGNE01",
		"69100 VILLEURBANNE",
		"Code régime caisse centre : 01 691 0000",
		"Attestation de droits à l'assurance maladie",
		// the ouvrant droit, his NIR in groups, his postal address
		"Nom de famille\tPEIGNE\tAdresse postale",
		"Prénom\tBENOIT\tBâtiment B",
		"Date de naissance\t14/06/1985\t4 place Bellecour",
		"N° de sécurité sociale\t1 85 06 69 123 087 38\t69002 LYON",
		// every listed beneficiary with rang, qualité, own NIR and rights
		"Nom\tPrénom\tNé(e) le\tRang\tQualité\tN° de sécurité sociale\tDroits",
		"PEIGNE\tBENOIT\t14/06/1985\t1\tAssuré(e)\t1 85 06 69 123 087 38\tdepuis le 01/01/2012",
		"MOREAU\tCLAIRE\t22/03/1987\t1\tConjoint(e)\t2 87 03 69 123 112 11\tdepuis le 01/01/2012",
		"nom d'usage : PEIGNE",
		"PEIGNE\tLÉA\t02/03/2015\t1\tEnfant\t2 15 03 69 123 245 11\tdepuis le 02/03/2015",
		"PEIGNE\tLUCAS\t02/03/2015\t2\tEnfant\t1 15 03 69 123 246 60\tdepuis le 02/03/2015",
		// granted mentions with their dates
		"BENOIT : Exonération du ticket modérateur du 01/02/2024 au 31/01/2029",
		"BENOIT : Complémentaire santé solidaire (C2S) du 01/01/2026 au 31/12/2026",
		"CLAIRE : Complémentaire santé solidaire (C2S) du 01/01/2026 au 31/12/2026",
		"LÉA : Complémentaire santé solidaire (C2S) du 01/01/2026 au 31/12/2026",
		"LUCAS : Exonération du ticket modérateur depuis le 01/05/2025",
		"LUCAS : Complémentaire santé solidaire (C2S) du 01/01/2026 au 31/12/2026",
	)
	wantContains(t, text, "valable à sa date de délivrance", "ne remplace pas la carte Vitale", "3646", "ameli.fr")
	if m := motifWords.FindString(text); m != "" {
		t.Errorf("the attestation prints the ETM motif %q", m)
	}
	if n := strings.Count(text, "\f"); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
}

func TestRenderOnlyAskedMentions(t *testing.T) {
	r := newRenderer(t)
	// Léa alone, nothing asked: no mention section at all.
	in := issuedInput(t, "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "lea"}}}, "ATT-1")
	doc, text := renderText(t, r, in)
	if doc.FileName != "attestation-droits-PEIGNE-LEA-20261125.pdf" {
		t.Errorf("file name %q", doc.FileName)
	}
	wantLines(t, text, "PEIGNE\tLÉA\t02/03/2015\t1\tEnfant\t2 15 03 69 123 245 11\tdepuis le 02/03/2015")
	for _, not := range []string{"PEIGNE\tBENOIT\t", "CLAIRE", "LUCAS", "Mentions complémentaires", "Exonération", "C2S"} {
		if strings.Contains(text, not) {
			t.Errorf("text has %q:\n%s", not, text)
		}
	}
	// The ouvrant droit is still named as the insured.
	wantLines(t, text, "Prénom\tBENOIT\tBâtiment B")
}

func TestRenderNeverPrintsMotif(t *testing.T) {
	r := newRenderer(t)
	// Marie-Ange's exonération is for maternity (MAT): the mention is
	// printed, the reason is not. Her NIR is Corsican (2A).
	in := issuedInput(t, "C-MARIE", rules.Request{ETM: true, C2S: true}, "ATT-2")
	_, text := renderText(t, r, in)
	wantLines(t, text,
		"MARIE-ANGE : Exonération du ticket modérateur du 01/06/2026 au 28/02/2027",
		"Prénom\tMARIE-ANGE\tRésidence les Pins",
		"N° de sécurité sociale\t2 93 08 2A 004 012 64\t20000 AJACCIO",
		"Code régime caisse centre : 01 201 0000",
	)
	if m := motifWords.FindString(text); m != "" {
		t.Errorf("the attestation prints the ETM motif %q", m)
	}
	if strings.Contains(text, "Complémentaire santé solidaire") {
		t.Error("C2S printed though Marie-Ange has none open")
	}
}

func TestRenderUsageName(t *testing.T) {
	r := newRenderer(t)
	doc, text := renderText(t, r, issuedInput(t, "C-ANA", rules.Request{}, "ATT-3"))
	wantLines(t, text,
		"Nom de famille\tDA SILVA\tAdresse postale",
		"Nom d'usage\tDURAND\t9 rue de la Roquette",
		"DA SILVA\tANA\t03/11/1988\t1\tAssuré(e)\t2 88 11 99 139 011 65\tdepuis le 01/01/2012",
		"nom d'usage : DURAND",
	)
	if doc.FileName != "attestation-droits-DURAND-ANA-20261125.pdf" {
		t.Errorf("file name %q", doc.FileName)
	}
}

// TestRenderInesAccents renders Inès, whose address is flagged NPAI: the
// rules would not issue, so the input is built directly.
func TestRenderInesAccents(t *testing.T) {
	c := loadSampleComptes(t)["C-INES"]
	ines := &c.Beneficiaries[0]
	rights, _ := ines.RightsAt(sampleToday)
	in := AttestationInput{
		Compte:    c,
		Decision:  rules.Decision{Outcome: rules.Issued, Listed: []rules.Listed{{Beneficiary: ines, Rights: rights}}},
		Reference: "ATT-20261125-INES0001",
		IssuedAt:  sampleIssuedAt,
	}
	doc, text := renderText(t, newRenderer(t), in)
	wantLines(t, text,
		"CPAM des Bouches-du-Rhône\tDélivrée le 25/11/2026",
		"Prénom\tINÈS\tAppartement 12",
		"GARCIA\tINÈS\t17/02/1992\t1\tAssuré(e)\t2 92 02 13 055 014 05\tdepuis le 01/01/2012",
	)
	if doc.FileName != "attestation-droits-GARCIA-INES-20261125.pdf" {
		t.Errorf("file name %q", doc.FileName)
	}
}

// accentedCompte is a made-up compte whose names and address use every
// accented letter of French and a few of its neighbours.
func accentedCompte() *rules.Compte {
	return &rules.Compte{
		ID: "C-ACCENTS",
		Organisme: rules.Organisme{Regime: "01", Caisse: "974", Centre: "0000", Libelle: "CPAM de La Réunion",
			Adresse: []string{"4 boulevard Doret", "97704 SAINT-DENIS MESSAG CEDEX 9"}},
		Adresse: &rules.Address{Lignes: []string{"Bâtiment Œ, Résidence « Hôtel-Dieu »", "Île Maïs, Côte d’Août, Noël & Ÿves"},
			CodePostal: "97400", Commune: "SAINT-DENIS"},
		Beneficiaries: []rules.Beneficiary{{
			NIR: "290107511104250", NomFamille: "ÇÀÉÈÊËÎÏÔÖÛÜÙŒÆ", NomUsage: "LŒUVRE-ÉTÉ", Prenom: "ÉLOÏSE-NOËLLE",
			DateNaissance: rules.MustDate("1990-10-31"), Rang: 1, Qualite: rules.QualiteAssure,
			Droits: []rules.Period{{Start: rules.MustDate("2012-09-01")}},
		}},
	}
}

func TestRenderEveryAccentExtracts(t *testing.T) {
	c := accentedCompte()
	b := &c.Beneficiaries[0]
	in := AttestationInput{
		Compte:    c,
		Decision:  rules.Decision{Outcome: rules.Issued, Listed: []rules.Listed{{Beneficiary: b, Rights: b.Droits[0]}}},
		Reference: "ATT-ÉTÉ-1",
		IssuedAt:  sampleIssuedAt,
	}
	doc, text := renderText(t, newRenderer(t), in)
	wantContains(t, text,
		"CPAM de La Réunion", "ÇÀÉÈÊËÎÏÔÖÛÜÙŒÆ", "LŒUVRE-ÉTÉ", "ÉLOÏSE-NOËLLE",
		"Bâtiment Œ, Résidence « Hôtel-Dieu »", "Île Maïs, Côte d’Août, Noël & Ÿves",
		"Référence : ATT-ÉTÉ-1", "Assuré(e)", "N° de sécurité sociale")
	if doc.FileName != "attestation-droits-LOEUVRE-ETE-ELOISE-NOELLE-20261125.pdf" {
		t.Errorf("file name %q", doc.FileName)
	}
}

func TestRenderRefusesWhatIsNotIssued(t *testing.T) {
	r := newRenderer(t)
	c := loadSampleComptes(t)["C-MARC"]
	good := issuedInput(t, "C-EVA", rules.Request{}, "ATT-4")
	for name, in := range map[string]AttestationInput{
		"address missing": {Compte: c, Decision: rules.Decide(c, rules.Request{}, sampleToday), Reference: "R", IssuedAt: sampleIssuedAt},
		"no compte":       {Decision: good.Decision, Reference: "R", IssuedAt: sampleIssuedAt},
		"no reference":    {Compte: good.Compte, Decision: good.Decision, IssuedAt: sampleIssuedAt},
		"no date":         {Compte: good.Compte, Decision: good.Decision, Reference: "R"},
		"nobody listed":   {Compte: good.Compte, Decision: rules.Decision{Outcome: rules.Issued}, Reference: "R", IssuedAt: sampleIssuedAt},
	} {
		if _, err := r.Render(in); !errors.Is(err, ErrNotIssuable) {
			t.Errorf("%s: err = %v, want ErrNotIssuable", name, err)
		}
	}
}
