package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
	"github.com/cpam/attestd/templates/attestation"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func cmdRender(c *command, args []string) error {
	fs := c.flags()
	sf := addStoreFlags(fs)
	nir := fs.String("nir", "", "NIR of any beneficiary of the compte")
	var names multiFlag
	fs.Var(&names, "beneficiary", "first name of a beneficiary to list (repeatable); default: the ouvrant droit")
	family := fs.Bool("family", false, "the whole family")
	etm := fs.Bool("etm", false, "ask for the exonération du ticket modérateur mention")
	c2s := fs.Bool("c2s", false, "ask for the complémentaire santé solidaire mention")
	out := fs.String("o", "", "output PDF file")
	signingKey := fs.String("signing-key", "", "sign the attestation's 2D code with this key (attestd keys generate)")
	var today todayFlag
	fs.Var(&today, "today", "date of issue (default: today)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *nir == "" || *out == "" {
		return usageErrorf("--nir NIR and -o FILE.pdf are required")
	}
	n, err := rules.CheckNIR(*nir)
	if err != nil {
		return refused(rules.NIRInvalid, fmt.Sprintf("the NIR is not valid: %v", err))
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	cpt, err := st.CompteByNIR(ctx, n)
	if err != nil {
		return err
	}
	if cpt == nil {
		return refused(rules.SenderUnknown, "no compte holds this NIR in the registry")
	}
	req := rules.Request{Family: *family, ETM: *etm, C2S: *c2s}
	for _, name := range names {
		req.Targets = append(req.Targets, rules.Target{FirstName: name})
	}
	now := time.Now()
	day := today.d
	if day.IsZero() {
		day = rules.DateOf(now)
	} else {
		now = day.Time().Add(12 * time.Hour)
	}
	dec := rules.Decide(cpt, req, day)
	if dec.Outcome != rules.Issued {
		return refused(dec.Outcome, explain(dec.Outcome))
	}
	pdf, err := attestation.NewPDFRenderer()
	if err != nil {
		return err
	}
	if *signingKey != "" {
		if pdf, err = withSigningKey(pdf, *signingKey); err != nil {
			return err
		}
	}
	doc, err := pdf.Render(attestation.AttestationInput{Compte: cpt, Decision: dec, Reference: "AD-" + day.Compact() + "-RENDER", IssuedAt: now})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, doc.Bytes, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "written %s (%d bytes, suggested name %s)\n", *out, len(doc.Bytes), doc.FileName)
	for _, r := range dec.Refused {
		fmt.Fprintf(os.Stderr, "note: mention %s not open today for %s: not printed\n", r.Mention, r.Beneficiary.Prenom)
	}
	for _, b := range dec.NotCovered {
		fmt.Fprintf(os.Stderr, "note: %s has no open rights today: not listed\n", b.Prenom)
	}
	return nil
}

// withSigningKey returns pdf signing with the key file at path.
func withSigningKey(pdf *attestation.PDFRenderer, path string) (*attestation.PDFRenderer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := seal.ParseSigner(data, "", "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pdf.WithSigner(s), nil
}

// refused ends render with exit status 3 and the outcome code as the last
// line on stderr.
func refused(o rules.Outcome, why string) error {
	fmt.Fprintf(os.Stderr, "attestd render: refused: %s\n%s\n", why, o)
	return &exitError{code: exitRefused}
}

func explain(o rules.Outcome) string {
	switch o {
	case rules.AddressMissing:
		return "the compte has no valid postal address (missing or NPAI): the insured must update it"
	case rules.RightsClosed:
		return "no requested beneficiary has open rights today"
	case rules.BeneficiaryUnknown:
		return "no beneficiary of the compte matches"
	case rules.BeneficiaryAmbiguous:
		return "the description fits several beneficiaries"
	}
	return string(o)
}
