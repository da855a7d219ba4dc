package attestation

import (
	"fmt"
	"time"

	"github.com/johnfercher/go-tree/node"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/extension"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

// The signed code's geometry, in millimetres: a DataMatrix module is
// moduleMM wide, the symbol at least minCodeMM, inside a quiet zone of
// quietModules white modules on every side (ECC200 asks for one).
const (
	moduleMM     = 0.4
	minCodeMM    = 25.0
	quietModules = 2
)

// codeCaption is the line under the code.
const codeCaption = "Code signé : vérifiable avec un lecteur 2D-Doc ou attestd verify"

// WithSigner returns a renderer that signs each attestation with s: a
// DataMatrix at the top right holds the signed code (package seal), which the
// PDF's Keywords repeat for `attestd verify`. A nil s renders unsigned, as
// NewPDFRenderer does.
func (r *PDFRenderer) WithSigner(s *seal.Signer) *PDFRenderer {
	c := *r
	c.signer = s
	return &c
}

// DocumentSigner signs a whole PDF (package pades).
type DocumentSigner interface {
	Sign(doc []byte, at time.Time, reason string) ([]byte, error)
}

// WithDocumentSigner returns a renderer whose PDFs d signs as a whole (a
// PAdES signature a PDF reader shows), at the date of issue. Such PDFs are
// not deterministic. A nil d leaves them unsigned.
func (r *PDFRenderer) WithDocumentSigner(d DocumentSigner) *PDFRenderer {
	c := *r
	c.docSigner = d
	return &c
}

// signDocument signs doc when r has a document signer.
func (r *PDFRenderer) signDocument(doc []byte, in AttestationInput) ([]byte, error) {
	if r.docSigner == nil {
		return doc, nil
	}
	signed, err := r.docSigner.Sign(doc, in.IssuedAt, "Attestation de droits, référence "+in.Reference)
	if err != nil {
		return nil, fmt.Errorf("signing the PDF: %w", err)
	}
	return signed, nil
}

// sealCode is the signed code of in, or "" when r does not sign.
func (r *PDFRenderer) sealCode(in AttestationInput) (string, error) {
	if r.signer == nil {
		return "", nil
	}
	day := rules.DateOf(in.IssuedAt)
	code, err := r.signer.Seal(seal.FromDecision(in.Compte, in.Decision, in.Reference, day), day)
	if err != nil {
		return "", fmt.Errorf("signing the attestation: %w", err)
	}
	return code, nil
}

// codeImage is a DataMatrix drawn as a PNG, one pixel a module, quiet zone
// included, and printed side millimetres wide.
type codeImage struct {
	png  []byte
	side float64
	top  float64 // from the cell's top
}

// newCodeImage encodes code as an ECC200 DataMatrix.
func newCodeImage(code string) (*codeImage, error) {
	modules, err := dmEncode(code)
	if err != nil {
		return nil, err
	}
	mm := max(moduleMM, minCodeMM/float64(len(modules)))
	return &codeImage{png: dmPNG(modules, quietModules), side: float64(len(modules)+2*quietModules) * mm}, nil
}

// Render draws the code at the right of the cell.
func (c *codeImage) Render(p core.Provider, cell *entity.Cell) {
	p.AddImageFromBytes(c.png, cell, &props.Rect{
		Left: cell.Width - c.side, Top: c.top, Percent: c.side / cell.Width * 100, JustReferenceWidth: true,
	}, extension.Png)
}

// GetHeight is the code's bottom, from the cell's top.
func (c *codeImage) GetHeight(core.Provider, *entity.Cell) float64 { return c.top + c.side }

// GetStructure describes the component for maroto's debugging tree.
func (c *codeImage) GetStructure() *node.Node[core.Structure] {
	return node.New(core.Structure{Type: "sealcode"})
}

// SetConfig has nothing to configure.
func (c *codeImage) SetConfig(*entity.Config) {}

// addCode puts the signed code under the lines of col, whose last baseline
// is base millimetres from the top, with the caption under it.
func (l *layout) addCode(c core.Col, base float64) {
	l.code.top = base + 2
	caption := line{s: codeCaption, size: sizeMin, color: colorMuted()}
	c.Add(l.code, l.textAt(caption, l.code.top+l.code.side+sizeMin*ptToMM, align.Right))
}
