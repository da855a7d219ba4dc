package attestation

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
)

// strictContext reads and validates pdf the way pdfcpu's strict mode does.
func strictContext(t *testing.T, pdf []byte) *model.Context {
	t.Helper()
	ctx, err := api.ReadContext(bytes.NewReader(pdf), pdftext.PDFCPUConfig(model.ValidationStrict))
	if err != nil {
		t.Fatalf("pdfcpu cannot read the attestation: %v", err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatalf("pdfcpu strict validation: %v", err)
	}
	return ctx
}

func TestRenderValidatesStrictly(t *testing.T) {
	r := newRenderer(t)
	for name, in := range map[string]AttestationInput{
		"family": peigneFamily(t),
		"single": issuedInput(t, "C-EVA", rules.Request{}, "ATT-EVA"),
		"corse":  issuedInput(t, "C-MARIE", rules.Request{ETM: true}, "ATT-MARIE"),
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := r.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			strictContext(t, doc.Bytes)
			if err := api.Validate(bytes.NewReader(doc.Bytes), pdftext.PDFCPUConfig(model.ValidationStrict)); err != nil {
				t.Errorf("api.Validate strict: %v", err)
			}
		})
	}
}

func TestRenderMetadataAndCompression(t *testing.T) {
	doc, err := newRenderer(t).Render(peigneFamily(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := strictContext(t, doc.Bytes)
	if ctx.Title != attestationTitle {
		t.Errorf("title %q", ctx.Title)
	}
	if ctx.Author != "CPAM du Rhône" {
		t.Errorf("author %q", ctx.Author)
	}
	if ctx.Subject != "Attestation de droits, référence ATT-20261125-PEIGNE01" {
		t.Errorf("subject %q", ctx.Subject)
	}
	d, _, _, err := ctx.PageDict(1, false)
	if err != nil {
		t.Fatal(err)
	}
	sd, _, err := ctx.DereferenceStreamDict(d["Contents"])
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.FilterPipeline) == 0 || sd.FilterPipeline[0].Name != "FlateDecode" {
		t.Errorf("page content is not compressed: filters %v", sd.FilterPipeline)
	}
	if !bytes.Contains(doc.Bytes, []byte("/CreationDate (D:20261125103000)")) ||
		!bytes.Contains(doc.Bytes, []byte("/ModDate (D:20261125103000)")) {
		t.Error("creation and modification dates are not the date of issue")
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	r := newRenderer(t)
	in := peigneFamily(t)
	first, err := r.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := newRenderer(t).Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes, again.Bytes) {
		t.Fatal("two renders of the same input differ")
	}
	later := in
	later.IssuedAt = in.IssuedAt.Add(24 * time.Hour)
	other, err := r.Render(later)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Bytes, other.Bytes) {
		t.Fatal("another date of issue gives the same bytes")
	}
}

// TestRenderConcurrently renders several documents with several dates of
// issue at once: each must equal its sequential render (run with -race).
func TestRenderConcurrently(t *testing.T) {
	r := newRenderer(t)
	var inputs []AttestationInput
	for i, in := range []AttestationInput{
		peigneFamily(t),
		issuedInput(t, "C-EVA", rules.Request{}, "ATT-EVA"),
		issuedInput(t, "C-KARIM", rules.Request{Family: true}, "ATT-KARIM"),
		issuedInput(t, "C-MARIE", rules.Request{ETM: true}, "ATT-MARIE"),
	} {
		in.IssuedAt = in.IssuedAt.AddDate(0, 0, -i)
		inputs = append(inputs, in)
	}
	want := make([][]byte, len(inputs))
	for i, in := range inputs {
		doc, err := r.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = doc.Bytes
	}
	const rounds = 4
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(inputs))
	for round := 0; round < rounds; round++ {
		for i, in := range inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				doc, err := r.Render(in)
				switch {
				case err != nil:
					errs <- err
				case !bytes.Equal(doc.Bytes, want[i]):
					errs <- fmt.Errorf("concurrent render of %s differs from its sequential render", in.Reference)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// bigFamily is a made-up compte with n beneficiaries, enough to need
// several pages; every third has an ETM (motif ALD), every other a C2S, every
// fifth has no NIR of its own. The decision is the family with both mentions.
func bigFamily(t testing.TB, n int) AttestationInput {
	t.Helper()
	c := &rules.Compte{
		ID: "C-BIG",
		Organisme: rules.Organisme{Regime: "01", Caisse: "751", Centre: "0000", Libelle: "CPAM de Paris",
			Adresse: []string{"21 rue Georges Auric", "75948 PARIS CEDEX 19"}},
		Adresse: &rules.Address{Lignes: []string{"1 place de l'Hôtel de Ville"}, CodePostal: "75004", Commune: "PARIS"},
	}
	firsts := []string{"ÉLODIE", "JÉRÔME", "FRANÇOIS", "CHLOÉ", "NOËL", "ANAÏS", "MAËLLE", "BÉATRICE"}
	for i := 0; i < n; i++ {
		b := rules.Beneficiary{
			NomFamille:    "LEFÈVRE",
			Prenom:        fmt.Sprintf("%s-%02d", firsts[i%len(firsts)], i+1),
			DateNaissance: rules.DateOf(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 40*i)),
			Rang:          1,
			Qualite:       rules.QualiteEnfant,
		}
		if i == 0 {
			b.Qualite = rules.QualiteAssure
		}
		if i%5 != 4 {
			body := fmt.Sprintf("1010175056%03d", i+1)
			key, err := rules.NIRKey(body)
			if err != nil {
				t.Fatal(err)
			}
			b.NIR = body + key
		}
		b.Droits = []rules.Period{{Start: b.DateNaissance}}
		if i%3 == 0 {
			b.ETM = []rules.Exoneration{{Period: rules.Period{Start: rules.MustDate("2024-01-01"), End: rules.MustDate("2027-12-31")}, Motif: "ALD"}}
		}
		if i%2 == 0 {
			b.C2S = []rules.Period{{Start: rules.MustDate("2026-01-01"), End: rules.MustDate("2026-12-31")}}
		}
		c.Beneficiaries = append(c.Beneficiaries, b)
	}
	d := rules.Decide(c, rules.Request{Family: true, ETM: true, C2S: true}, sampleToday)
	if d.Outcome != rules.Issued || len(d.Listed) != n {
		t.Fatalf("big family: decision %s with %d listed", d.Outcome, len(d.Listed))
	}
	return AttestationInput{Compte: c, Decision: d, Reference: "ATT-20261125-BIG00001", IssuedAt: sampleIssuedAt}
}

func TestRenderBigFamilyTakesSeveralPages(t *testing.T) {
	const n = 25
	in := bigFamily(t, n)
	doc, text := renderText(t, newRenderer(t), in)
	ctx := strictContext(t, doc.Bytes)
	if ctx.PageCount < 2 {
		t.Fatalf("%d beneficiaries fit on %d page", n, ctx.PageCount)
	}
	if got := strings.Count(text, "\f"); got != ctx.PageCount {
		t.Errorf("pdftext.ExtractText gives %d pages, pdfcpu %d", got, ctx.PageCount)
	}
	// Every page has the footer and its number.
	for p := 1; p <= ctx.PageCount; p++ {
		wantContains(t, text, fmt.Sprintf("Référence ATT-20261125-BIG00001 · page %d/%d", p, ctx.PageCount))
	}
	if got := strings.Count(text, "ne remplace pas la carte Vitale"); got != ctx.PageCount {
		t.Errorf("footer on %d of %d pages", got, ctx.PageCount)
	}
	wantLines(t, text,
		"LEFÈVRE\tÉLODIE-01\t01/01/2001\t1\tAssuré(e)\t1 01 01 75 056 001 "+in.Compte.Beneficiaries[0].NIR[13:]+"\tdepuis le 01/01/2001",
		"LEFÈVRE\tNOËL-05\t"+in.Compte.Beneficiaries[4].DateNaissance.French()+"\t1\tEnfant\t—\tdepuis le "+
			in.Compte.Beneficiaries[4].DateNaissance.French(),
		"ÉLODIE-25 : Exonération du ticket modérateur du 01/01/2024 au 31/12/2027",
	)
	if m := motifWords.FindString(text); m != "" {
		t.Errorf("the attestation prints the ETM motif %q", m)
	}
}

// TestRenderTableHeadingOnEveryPage: a table longer than a page starts each
// page with its heading.
func TestRenderTableHeadingOnEveryPage(t *testing.T) {
	in := bigFamily(t, 45)
	_, text := renderText(t, newRenderer(t), in)
	heading := strings.Join([]string{"Nom", "Prénom", "Né(e) le", "Rang", "Qualité", "N° de sécurité sociale", "Droits"}, "\t")
	pagesWithRows, rows := 0, 0
	for p, page := range strings.Split(strings.TrimSuffix(text, "\f"), "\f") {
		headed, hasRows := false, false
		for _, line := range strings.Split(page, "\n") {
			switch {
			case line == heading:
				headed = true
			case strings.Count(line, "\t") == len(tableCols)-1 && strings.HasPrefix(line, "LEFÈVRE\t"):
				if !headed {
					t.Errorf("page %d: row %q before the table heading", p+1, line)
				}
				hasRows = true
				rows++
			}
		}
		if hasRows {
			pagesWithRows++
		}
	}
	if rows != 45 || pagesWithRows < 2 {
		t.Errorf("%d rows on %d pages, want 45 rows over several pages", rows, pagesWithRows)
	}
}
