// Package attestation renders the attestation de droits PDF of an issued
// decision (SPEC section 6): PDFRenderer lays it out, AttestationFileName
// names it. Reading it back (for the demo, the acceptance runner and tests)
// is internal/pdftext's job.
package attestation

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/phpdave11/gofpdf"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

// AttestationInput is what the attestation PDF prints: an issued decision for
// one compte, with its reference and date of issue.
type AttestationInput struct {
	Compte *rules.Compte
	// Decision must have Outcome rules.Issued; its Listed beneficiaries and
	// their granted ETM/C2S periods are printed.
	Decision rules.Decision
	// Reference is the attestation's unique reference, printed on every
	// page and repeated in the reply and the records.
	Reference string
	// IssuedAt is the moment of issue, in the caisse's time zone: its
	// calendar date is printed and dates the file name. It is also the PDF's
	// creation and modification date, so that the same input gives the
	// same bytes.
	IssuedAt time.Time
}

// Document is a rendered attestation.
type Document struct {
	Bytes []byte
	// FileName is ASCII only, for the mail attachment (see AttestationFileName).
	FileName string
}

// ErrNotIssuable is wrapped by Render when the input cannot give an
// attestation: the caller passed a decision that is not Issued, or a compte
// without holder or postal address. It is a programming error upstream, not a
// temporary failure: retrying does not help.
var ErrNotIssuable = errors.New("attestation not issuable")

// PDFRenderer renders attestations de droits (SPEC section 6) with maroto v2
// and the embedded DejaVu Sans subset. Build one with NewPDFRenderer and
// share it: Render is safe for concurrent use.
type PDFRenderer struct {
	font    []byte // the embedded font, shared by every document: gofpdf only reads it
	metrics *fontMetrics
	signer  *seal.Signer // nil: no signed code (see WithSigner)
	// docSigner signs the whole PDF; nil: unsigned (see WithDocumentSigner).
	docSigner DocumentSigner
}

// NewPDFRenderer checks the embedded font and measures its glyphs once.
func NewPDFRenderer() (*PDFRenderer, error) {
	m, err := measureFont(fontRegular)
	if err != nil {
		return nil, fmt.Errorf("loading the attestation font: %w (the embedded templates/attestation/fonts file is damaged: rebuild it)", err)
	}
	return &PDFRenderer{font: fontRegular, metrics: m}, nil
}

// Render writes the attestation for in. The same input (IssuedAt included)
// always gives the same bytes. It fails with ErrNotIssuable when in is not an
// issued decision with a holder and a postal address.
func (r *PDFRenderer) Render(in AttestationInput) (*Document, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	code, err := r.sealCode(in)
	if err != nil {
		return nil, err
	}
	cfg := r.config(in)
	l := &layout{family: fontFamily, metrics: r.metrics}
	if code != "" {
		if l.code, err = newCodeImage(code); err != nil {
			return nil, err
		}
		cfg.Metadata.KeywordsStr = &entity.Utf8Text{Text: code}
	}
	m := newMaroto(cfg, in.IssuedAt)
	if err := l.build(m, in); err != nil {
		return nil, err
	}
	doc, err := m.Generate()
	if err != nil {
		return nil, fmt.Errorf("generating the attestation PDF: %w", err)
	}
	out, err := r.signDocument(doc.GetBytes(), in)
	if err != nil {
		return nil, err
	}
	return &Document{Bytes: out, FileName: AttestationFileName(in)}, nil
}

// check tells whether in can give an attestation.
func (in AttestationInput) check() error {
	switch {
	case in.Compte == nil:
		return fmt.Errorf("%w: no compte", ErrNotIssuable)
	case in.Decision.Outcome != rules.Issued:
		return fmt.Errorf("%w: the decision is %q, not %q", ErrNotIssuable, in.Decision.Outcome, rules.Issued)
	case len(in.Decision.Listed) == 0:
		return fmt.Errorf("%w: the decision lists no beneficiary", ErrNotIssuable)
	case in.Compte.Holder() == nil:
		return fmt.Errorf("%w: compte %s has no ouvrant droit", ErrNotIssuable, in.Compte.ID)
	case in.Compte.Adresse == nil:
		return fmt.Errorf("%w: compte %s has no postal address", ErrNotIssuable, in.Compte.ID)
	case strings.TrimSpace(in.Reference) == "":
		return fmt.Errorf("%w: empty reference", ErrNotIssuable)
	case in.IssuedAt.IsZero():
		return fmt.Errorf("%w: no date of issue", ErrNotIssuable)
	}
	for i, l := range in.Decision.Listed {
		if l.Beneficiary == nil {
			return fmt.Errorf("%w: listed beneficiary %d is nil", ErrNotIssuable, i)
		}
	}
	return nil
}

// gofpdfDefaults guards gofpdf's package-level defaults. gofpdf copies its
// default catalog sort flag and creation/modification dates into each new
// document when it is created, and maroto creates its gofpdf document inside
// maroto.New without a per-document option for the sort flag or the
// modification date. newMaroto sets the defaults, calls maroto.New and resets
// them while holding this lock, so concurrent renders with different dates
// cannot see each other's. Anything else in the process that sets gofpdf
// defaults must not run concurrently with Render; nothing in attestd does.
var gofpdfDefaults sync.Mutex

// newMaroto returns a maroto document whose gofpdf catalogs are sorted and
// whose dates are issuedAt: the output depends on nothing but the input.
func newMaroto(cfg *entity.Config, issuedAt time.Time) core.Maroto {
	gofpdfDefaults.Lock()
	defer gofpdfDefaults.Unlock()
	gofpdf.SetDefaultCatalogSort(true)
	gofpdf.SetDefaultCreationDate(issuedAt)
	gofpdf.SetDefaultModificationDate(issuedAt)
	defer func() {
		gofpdf.SetDefaultCatalogSort(false)
		gofpdf.SetDefaultCreationDate(time.Time{})
		gofpdf.SetDefaultModificationDate(time.Time{})
	}()
	return maroto.New(cfg)
}
