package attestation

import (
	"testing"
	"time"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

// The sample registry, read by the store's own parser (validation
// included): the tests only need its rules.Compte values.

var sampleToday = rules.MustDate("2026-11-25")

// sampleIssuedAt is the date of issue the tests render at.
var sampleIssuedAt = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

// loadSampleComptes reads the sample registry, keyed by compte id.
func loadSampleComptes(t testing.TB) map[string]*rules.Compte {
	t.Helper()
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	comptes := map[string]*rules.Compte{}
	for i := range reg.Comptes {
		comptes[reg.Comptes[i].ID] = &reg.Comptes[i]
	}
	return comptes
}

// issuedInput decides req for compte id at the sample date and fails the
// test unless the decision is Issued.
func issuedInput(t testing.TB, id string, req rules.Request, ref string) AttestationInput {
	t.Helper()
	c := loadSampleComptes(t)[id]
	if c == nil {
		t.Fatalf("no compte %s in the sample registry", id)
	}
	d := rules.Decide(c, req, sampleToday)
	if d.Outcome != rules.Issued {
		t.Fatalf("compte %s: decision %s, want issued", id, d.Outcome)
	}
	return AttestationInput{Compte: c, Decision: d, Reference: ref, IssuedAt: sampleIssuedAt}
}

// peigneFamily is the Peigne family with ETM and C2S asked.
func peigneFamily(t testing.TB) AttestationInput {
	return issuedInput(t, "C-BENOIT", rules.Request{Family: true, ETM: true, C2S: true}, "ATT-20261125-PEIGNE01")
}

// newRenderer builds the renderer or fails the test.
func newRenderer(t testing.TB) *PDFRenderer {
	t.Helper()
	r, err := NewPDFRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
