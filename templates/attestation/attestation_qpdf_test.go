package attestation

import (
	"os/exec"
	"testing"

	"github.com/cpam/attestd/rules"
)

// TestRenderPassesQPDFCheck runs qpdf --check on unsigned attestations
// whose font subsets differ (ASCII and Latin-1 only, every French accent
// with Latin Extended-A, several pages): the subsets third_party/gofpdf
// caches per set of runes. The signed sample attestations are checked by
// TestSignedRenderRoundTrip.
func TestRenderPassesQPDFCheck(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Skip("qpdf is not installed (apt-get install qpdf)")
	}
	r := newRenderer(t)
	c := accentedCompte()
	b := &c.Beneficiaries[0]
	for name, in := range map[string]AttestationInput{
		"peigne": peigneFamily(t),
		"eva":    issuedInput(t, "C-EVA", rules.Request{}, "ATT-EVA"),
		"big":    bigFamily(t, 40),
		"accented": {Compte: c, Decision: rules.Decision{Outcome: rules.Issued, Listed: []rules.Listed{{Beneficiary: b, Rights: b.Droits[0]}}},
			Reference: "ATT-ÉTÉ-1", IssuedAt: sampleIssuedAt},
	} {
		doc, err := r.Render(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		qpdfCheck(t, doc.Bytes)
	}
}
