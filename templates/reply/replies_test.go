package reply

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
)

var rtToday = rules.MustDate("2026-11-25")

const rtRef = "ATT-20261125-TEST01"

func rtLoad(t testing.TB) *Replies {
	t.Helper()
	r, err := LoadReplies("")
	if err != nil {
		t.Fatalf("LoadReplies: %v", err)
	}
	return r
}

// rtCase is a request of the samples, already read, with the outcome the
// rules give it at rtToday.
type rtCase struct {
	name    string
	compte  string
	req     rules.Request
	outcome rules.Outcome
}

var rtCases = []rtCase{
	{"eva-simple", "C-EVA", rules.Request{}, rules.Issued},
	{"benoit-famille-mentions", "C-BENOIT", rules.Request{Family: true, ETM: true, C2S: true}, rules.Issued},
	{"benoit-jumeau-date", "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "Lucas", Birth: rules.MustDate("2015-03-02")}}}, rules.Issued},
	{"benoit-jumeaux-ambigus", "C-BENOIT", rules.Request{Targets: []rules.Target{{Birth: rules.MustDate("2015-03-02")}}}, rules.BeneficiaryAmbiguous},
	{"marc-sans-adresse", "C-MARC", rules.Request{}, rules.AddressMissing},
	{"ines-npai", "C-INES", rules.Request{}, rules.AddressMissing},
	{"sophie-droits-fermes", "C-SOPHIE", rules.Request{}, rules.RightsClosed},
	{"karim-fils-adam", "C-KARIM", rules.Request{Targets: []rules.Target{{Relation: rules.RelationSon}}}, rules.RightsClosed},
	{"karim-famille", "C-KARIM", rules.Request{Family: true}, rules.Issued},
	{"eva-beneficiaire-inconnu", "C-EVA", rules.Request{Targets: []rules.Target{{FirstName: "Léa"}}}, rules.BeneficiaryUnknown},
	{"eva-mention-non-ouverte", "C-EVA", rules.Request{ETM: true}, rules.Issued},
	{"marie-ange-etm-maternite", "C-MARIE", rules.Request{ETM: true}, rules.Issued},
	{"ana-nom-usage", "C-ANA", rules.Request{C2S: true}, rules.Issued},
}

// rtPersonal decides the case and renders its reply.
func rtPersonal(t *testing.T, r *Replies, reg *rtRegistry, tc rtCase) Body {
	t.Helper()
	c := reg.compte(t, tc.compte)
	d := rules.Decide(c, tc.req, rtToday)
	if d.Outcome != tc.outcome {
		t.Fatalf("%s: rules decided %s, the test expects %s", tc.name, d.Outcome, tc.outcome)
	}
	b, err := r.Personal(NewPersonalData(c, d, rtRef, "attestation-droits-TEST-20261125.pdf", DefaultServiceInfo()))
	if err != nil {
		t.Fatalf("%s: Personal: %v", tc.name, err)
	}
	return b
}

func rtCaseNamed(t *testing.T, name string) rtCase {
	t.Helper()
	for _, tc := range rtCases {
		if tc.name == name {
			return tc
		}
	}
	t.Fatalf("no test case %q", name)
	return rtCase{}
}

// rtContains fails unless both alternatives contain want. Line breaks count
// as spaces, as a reader sees them, and so do HTML non-breaking spaces.
func rtContains(t *testing.T, b Body, want ...string) {
	t.Helper()
	text := rtFlat(b.Text)
	html := rtFlat(strings.ReplaceAll(b.HTML, "&nbsp;", " "))
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, b.Text)
		}
		if !strings.Contains(html, w) {
			t.Errorf("HTML lacks %q:\n%s", w, b.HTML)
		}
	}
}

// rtFlat turns every run of white space into one space.
func rtFlat(s string) string { return strings.Join(strings.Fields(s), " ") }

func rtLacks(t *testing.T, b Body, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(b.Text, u) {
			t.Errorf("text contains %q:\n%s", u, b.Text)
		}
		if strings.Contains(b.HTML, u) {
			t.Errorf("HTML contains %q:\n%s", u, b.HTML)
		}
	}
}

func TestRepliesIssuedListsCoveredBeneficiaries(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	b := rtPersonal(t, r, reg, rtCaseNamed(t, "benoit-famille-mentions"))
	rtContains(t, b,
		"ci-joint", "attestation-droits-TEST-20261125.pdf", rtRef, "valable à sa date de délivrance",
		"BENOIT 14/06/1985, avec les mentions : exonération du ticket modérateur, complémentaire santé solidaire (C2S)",
		"CLAIRE 22/03/1987, avec la mention : complémentaire santé solidaire (C2S)",
		"LÉA 02/03/2015, avec la mention : complémentaire santé solidaire (C2S)",
		"LUCAS 02/03/2015, avec les mentions : exonération du ticket modérateur, complémentaire santé solidaire (C2S)",
		"La mention « exonération du ticket modérateur » n'a pas pu être ajoutée pour CLAIRE : elle n'est pas ouverte à ce jour.",
		"La mention « exonération du ticket modérateur » n'a pas pu être ajoutée pour LÉA : elle n'est pas ouverte à ce jour.",
	)
	rtLacks(t, b, "pour BENOIT", "pour LUCAS", "« complémentaire santé solidaire (C2S) » n'a pas pu", "pas de droits ouverts")
}

func TestRepliesIssuedNamesNotCovered(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	b := rtPersonal(t, r, reg, rtCaseNamed(t, "karim-famille"))
	rtContains(t, b, "KARIM 27/01/1980", "NORA 19/06/2012",
		"La personne suivante n'a pas de droits ouverts à ce jour et ne figure pas sur l'attestation",
		"ADAM 05/01/2007")
	covered, notCovered, ok := strings.Cut(b.Text, "pas de droits ouverts à ce jour")
	if !ok {
		t.Fatalf("text does not say who is not covered:\n%s", b.Text)
	}
	if strings.Contains(covered, "ADAM") {
		t.Errorf("ADAM appears among the covered beneficiaries:\n%s", b.Text)
	}
	if strings.Contains(notCovered, "NORA") || strings.Contains(notCovered, "KARIM") {
		t.Errorf("a covered beneficiary appears among the not covered:\n%s", b.Text)
	}
}

func TestRepliesIssuedRefusedMention(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	b := rtPersonal(t, r, reg, rtCaseNamed(t, "eva-mention-non-ouverte"))
	rtContains(t, b, "Elle concerne :", "EVA 31/10/1990",
		"La mention « exonération du ticket modérateur » n'a pas pu être ajoutée pour EVA : elle n'est pas ouverte à ce jour.")
	rtLacks(t, b, "EVA 31/10/1990, avec")
}

func TestRepliesBeneficiaryUnknownListsBeneficiaries(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	b := rtPersonal(t, r, reg, rtCaseNamed(t, "eva-beneficiaire-inconnu"))
	rtContains(t, b, "ne correspond à aucun bénéficiaire", "Le bénéficiaire de votre compte est :",
		"EVA 31/10/1990", "par exemple « EVA 31/10/1990 »", "écrire à nouveau")
	rtLacks(t, b, "ci-joint", "toute la famille", "LÉA")
}

func TestRepliesBeneficiaryAmbiguousListsBeneficiaries(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	b := rtPersonal(t, r, reg, rtCaseNamed(t, "benoit-jumeaux-ambigus"))
	rtContains(t, b, "plusieurs bénéficiaires", "Les bénéficiaires de votre compte sont :",
		"BENOIT 14/06/1985", "CLAIRE 22/03/1987", "LÉA 02/03/2015", "LUCAS 02/03/2015", "« toute la famille »")
	rtLacks(t, b, "ci-joint")
}

func TestRepliesAddressMissingInvitesUpdate(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	for _, name := range []string{"marc-sans-adresse", "ines-npai"} {
		b := rtPersonal(t, r, reg, rtCaseNamed(t, name))
		rtContains(t, b, "pas d'adresse postale valide", "compte ameli", "« Mes informations » › adresse postale",
			"accueil de votre CPAM", "écrire à nouveau")
		rtLacks(t, b, "ci-joint", ".pdf")
	}
}

func TestRepliesRightsClosedSaysNotAbouti(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	for _, name := range []string{"sophie-droits-fermes", "karim-fils-adam"} {
		b := rtPersonal(t, r, reg, rtCaseNamed(t, name))
		rtContains(t, b, "Votre demande d'attestation de droits n'a pas abouti.", "3646", "compte ameli", "ameli.fr")
		rtLacks(t, b, "ci-joint", ".pdf")
	}
}

func TestRepliesGenericTexts(t *testing.T) {
	r := rtLoad(t)
	for _, tc := range []struct {
		outcome rules.Outcome
		want    []string
	}{
		{rules.SenderUnknown, []string{"n'est rattachée à aucun compte ameli", "depuis l'adresse électronique enregistrée dans votre compte ameli", "messagerie"}},
		{rules.SenderAmbiguous, []string{"partagée par plusieurs comptes ameli", "prénom et votre date de naissance", "numéro de sécurité sociale"}},
		{rules.NIRInvalid, []string{"n'est pas valide", "vérifier les 15 caractères"}},
		{rules.Failed, []string{"n'a pas abouti, pour une raison technique", "plus tard", "3646"}},
		{rules.LimitReached, []string{"chaque jour pour un même compte est atteint", "dans 24 heures", "ameli.fr"}},
	} {
		b, err := r.Generic(GenericData{Outcome: tc.outcome, Reference: rtRef, Service: DefaultServiceInfo()})
		if err != nil {
			t.Fatalf("Generic(%s): %v", tc.outcome, err)
		}
		rtContains(t, b, append(tc.want, rtRef)...)
	}
}

// The limit_reached reply says when to write again, in French.
func TestRepliesLimitReachedSaysWhen(t *testing.T) {
	r := rtLoad(t)
	b, err := r.Generic(GenericData{Outcome: rules.LimitReached, Reference: rtRef, ByNIR: true, Service: DefaultServiceInfo(),
		RetryAfter: time.Date(2026, 11, 26, 9, 5, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	rtContains(t, b, "est atteint", "pourra être faite à partir du 26/11/2026 à 9 h 05", rtRef)
	rtLacks(t, b, "dans 24 heures")
}

// rtAllBodies renders every case of rtCases and every generic outcome.
func rtAllBodies(t *testing.T, r *Replies, reg *rtRegistry) map[string]Body {
	t.Helper()
	out := map[string]Body{}
	for _, tc := range rtCases {
		out[tc.name] = rtPersonal(t, r, reg, tc)
	}
	for _, o := range []rules.Outcome{rules.SenderUnknown, rules.SenderAmbiguous, rules.NIRInvalid, rules.Failed, rules.LimitReached} {
		b, err := r.Generic(GenericData{Outcome: o, Reference: rtRef, Service: DefaultServiceInfo()})
		if err != nil {
			t.Fatalf("Generic(%s): %v", o, err)
		}
		out[string(o)] = b
	}
	return out
}

func TestRepliesNeverWriteETMMotif(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	codes := regexp.MustCompile(`\b(ALD|INV|MAT)\b`)
	words := regexp.MustCompile(`(?i)longue durée|invalidit|maternit`)
	for name, b := range rtAllBodies(t, r, reg) {
		for _, s := range []string{b.Text, b.HTML} {
			if m := codes.FindString(s); m != "" {
				t.Errorf("%s: reply writes the ETM motif %q:\n%s", name, m, s)
			}
			if m := words.FindString(s); m != "" {
				t.Errorf("%s: reply writes an ETM reason %q:\n%s", name, m, s)
			}
		}
	}
	// The case that would leak MAT: the mention is granted, its motif is
	// maternity.
	rtContains(t, rtPersonal(t, r, reg, rtCaseNamed(t, "marie-ange-etm-maternite")),
		"MARIE-ANGE 11/08/1993, avec la mention : exonération du ticket modérateur")
}

// rtFoldWords folds s for a whole-word search: upper case, no accents,
// every non-alphanumeric character a space, padded with spaces.
func rtFoldWords(s string) string {
	f := []rune(rules.FoldName(s))
	for i, c := range f {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			f[i] = ' '
		}
	}
	return " " + strings.Join(strings.Fields(string(f)), " ") + " "
}

func TestRepliesGenericCarryNoPersonalData(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	for _, o := range []rules.Outcome{rules.SenderUnknown, rules.SenderAmbiguous, rules.NIRInvalid, rules.Failed, rules.LimitReached} {
		b, err := r.Generic(GenericData{Outcome: o, Reference: rtRef, Service: DefaultServiceInfo()})
		if err != nil {
			t.Fatalf("Generic(%s): %v", o, err)
		}
		for _, body := range []string{b.Text, b.HTML} {
			folded := rtFoldWords(body)
			for _, c := range reg.order {
				var words, raw []string
				raw = append(raw, c.Email)
				if a := c.Adresse; a != nil {
					words = append(words, a.Lignes...)
					words = append(words, a.CodePostal+" "+a.Commune)
				}
				for _, p := range c.Beneficiaries {
					words = append(words, p.Prenom, p.NomFamille)
					if p.NomUsage != "" {
						words = append(words, p.NomUsage)
					}
					raw = append(raw, p.NIR, rules.FormatNIR(p.NIR), p.DateNaissance.French(), p.DateNaissance.String())
				}
				for _, w := range words {
					if strings.Contains(folded, rtFoldWords(w)) {
						t.Errorf("%s reply contains %q of compte %s:\n%s", o, w, c.ID, body)
					}
				}
				for _, w := range raw {
					if strings.Contains(body, w) {
						t.Errorf("%s reply contains %q of compte %s:\n%s", o, w, c.ID, body)
					}
				}
			}
		}
	}
}

func TestRepliesEndWithSignature(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	for name, b := range rtAllBodies(t, r, reg) {
		if !strings.HasSuffix(b.Text, "Le service Attestations — Assurance Maladie\n\nCe message a été envoyé automatiquement.\n") {
			t.Errorf("%s: text does not end with the signature and the automatic-message line:\n%s", name, b.Text)
		}
		if !strings.HasPrefix(b.Text, "Madame, Monsieur,\n") {
			t.Errorf("%s: text does not start with the salutation:\n%s", name, b.Text)
		}
		if !strings.Contains(b.HTML, "<p>Le service Attestations — Assurance Maladie</p>") ||
			!strings.Contains(b.HTML, "Ce message a été envoyé automatiquement.</p>\n</body>\n</html>\n") {
			t.Errorf("%s: HTML does not end with the signature and the automatic-message line:\n%s", name, b.HTML)
		}
		if strings.Contains(b.Text, "\n\n\n") {
			t.Errorf("%s: text has runs of blank lines:\n%s", name, b.Text)
		}
	}
}

func TestRepliesHTMLEscapesNames(t *testing.T) {
	r := rtLoad(t)
	c := &rules.Compte{
		ID:      "C-TEST",
		Adresse: &rules.Address{Lignes: []string{"1 rue X"}, CodePostal: "75001", Commune: "PARIS"},
		Beneficiaries: []rules.Beneficiary{{
			Prenom: `<b>ZOÉ</b> & "CO"`, DateNaissance: rules.MustDate("2001-02-03"), Qualite: rules.QualiteAssure,
			Droits: []rules.Period{{Start: rules.MustDate("2020-01-01")}},
		}},
	}
	for _, req := range []rules.Request{{ETM: true}, {Targets: []rules.Target{{FirstName: "Nobody"}}}} {
		d := rules.Decide(c, req, rtToday)
		b, err := r.Personal(NewPersonalData(c, d, rtRef, "a<b>.pdf", DefaultServiceInfo()))
		if err != nil {
			t.Fatalf("%s: %v", d.Outcome, err)
		}
		if strings.Contains(b.HTML, "<b>") {
			t.Errorf("%s: HTML carries the name unescaped:\n%s", d.Outcome, b.HTML)
		}
		if !strings.Contains(b.HTML, "&lt;b&gt;ZOÉ&lt;/b&gt; &amp; &#34;CO&#34; 03/02/2001") {
			t.Errorf("%s: HTML lacks the escaped name:\n%s", d.Outcome, b.HTML)
		}
		if !strings.Contains(b.Text, `<b>ZOÉ</b> & "CO" 03/02/2001`) {
			t.Errorf("%s: text should carry the name as is:\n%s", d.Outcome, b.Text)
		}
	}
}

// rtSpecReplies are the outcomes of SPEC section 5 whose reply column says
// yes, as written there.
var rtSpecReplies = []rules.Outcome{rules.Issued, rules.AddressMissing, rules.RightsClosed,
	rules.BeneficiaryUnknown, rules.BeneficiaryAmbiguous, rules.SenderUnknown, rules.SenderAmbiguous,
	rules.NIRInvalid, rules.Failed, rules.LimitReached}

func TestRepliesEveryReplyOutcomeHasBothTemplates(t *testing.T) {
	r := rtLoad(t)
	got := r.Outcomes()
	if strings.Join(rtOutcomeStrings(got), " ") != strings.Join(rtOutcomeStrings(rtSpecReplies), " ") {
		t.Errorf("Outcomes() = %v, SPEC section 5 replies to %v", got, rtSpecReplies)
	}
	for _, o := range rtSpecReplies {
		for _, f := range []string{textFile(o), htmlFile(o)} {
			b, err := mailFS.ReadFile("mail/" + f)
			if err != nil || len(strings.TrimSpace(string(b))) == 0 {
				t.Errorf("outcome %s: embedded template %s missing or empty (%v)", o, f, err)
			}
		}
	}
	for _, o := range []rules.Outcome{rules.SenderUnverified, rules.NotAttestation, rules.Suppressed, rules.Rejected} {
		if _, err := r.Personal(PersonalData{Outcome: o}); err == nil || !strings.Contains(err.Error(), "gets no reply") {
			t.Errorf("Personal(%s) = %v, want a no-reply error", o, err)
		}
		if _, err := r.Generic(GenericData{Outcome: o}); err == nil || !strings.Contains(err.Error(), "gets no reply") {
			t.Errorf("Generic(%s) = %v, want a no-reply error", o, err)
		}
	}
}

func rtOutcomeStrings(os []rules.Outcome) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = string(o)
	}
	return out
}

func TestRepliesRefuseWrongDataKind(t *testing.T) {
	r := rtLoad(t)
	if _, err := r.Personal(PersonalData{Outcome: rules.SenderUnknown}); err == nil || !strings.Contains(err.Error(), "use Generic") {
		t.Errorf("Personal(sender_unknown) = %v, want an error pointing to Generic", err)
	}
	if _, err := r.Generic(GenericData{Outcome: rules.Issued}); err == nil || !strings.Contains(err.Error(), "use Personal") {
		t.Errorf("Generic(issued) = %v, want an error pointing to Personal", err)
	}
	reg := rtLoadRegistry(t)
	c := reg.compte(t, "C-EVA")
	d := rules.Decide(c, rules.Request{}, rtToday)
	if _, err := r.Personal(NewPersonalData(c, d, rtRef, "", DefaultServiceInfo())); err == nil || !strings.Contains(err.Error(), "file name") {
		t.Errorf("issued without a file name = %v, want an error", err)
	}
	if _, err := r.Personal(NewPersonalData(nil, rules.Decision{Outcome: rules.BeneficiaryUnknown}, rtRef, "", DefaultServiceInfo())); err == nil {
		t.Error("beneficiary_unknown without the compte's beneficiaries rendered, want an error")
	}
}

func TestRepliesConcurrentUse(t *testing.T) {
	r, reg := rtLoad(t), rtLoadRegistry(t)
	want := rtAllBodies(t, r, reg)
	c := reg.compte(t, "C-BENOIT")
	d := rules.Decide(c, rules.Request{Family: true, ETM: true, C2S: true}, rtToday)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			b, err := r.Personal(NewPersonalData(c, d, rtRef, "attestation-droits-TEST-20261125.pdf", DefaultServiceInfo()))
			if err != nil || b != want["benoit-famille-mentions"] {
				t.Errorf("concurrent render differs (err %v)", err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkRepliesPersonalIssued(b *testing.B) {
	r, reg := rtLoad(b), rtLoadRegistry(b)
	c := reg.compte(b, "C-BENOIT")
	d := rules.Decide(c, rules.Request{Family: true, ETM: true, C2S: true}, rtToday)
	p := NewPersonalData(c, d, rtRef, "attestation-droits-famille-PEIGNE-20261125.pdf", DefaultServiceInfo())
	for b.Loop() {
		if _, err := r.Personal(p); err != nil {
			b.Fatal(err)
		}
	}
}

// A request that named the insured by a NIR (agent, gateway) is not told
// about its sender's address, and the other way round.
func TestGenericRepliesByNIR(t *testing.T) {
	r, err := LoadReplies("")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []rules.Outcome{rules.SenderUnknown, rules.SenderAmbiguous} {
		byAddr, err := r.Generic(GenericData{Outcome: o, Reference: rtRef, Service: DefaultServiceInfo()})
		if err != nil {
			t.Fatal(err)
		}
		byNIR, err := r.Generic(GenericData{Outcome: o, Reference: rtRef, ByNIR: true, Service: DefaultServiceInfo()})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []string{byAddr.Text, byAddr.HTML} {
			if !strings.Contains(b, "adresse électronique") {
				t.Errorf("%s by address does not speak of the address:\n%s", o, b)
			}
		}
		for _, b := range []string{byNIR.Text, byNIR.HTML} {
			if strings.Contains(b, "adresse électronique") || !strings.Contains(b, "numéro") {
				t.Errorf("%s by NIR speaks of the sender's address or not of the number:\n%s", o, b)
			}
		}
	}
}
