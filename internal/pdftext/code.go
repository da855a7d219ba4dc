package pdftext

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ErrNoCode is wrapped by ReadCode when a PDF carries no signed code.
var ErrNoCode = errors.New("the PDF carries no signed code")

// ReadCode returns the signed code a PDF made by a signing renderer carries
// in its Keywords: the same text its DataMatrix holds.
func ReadCode(pdf []byte) (string, error) {
	ctx, err := api.ReadContext(bytes.NewReader(pdf), PDFCPUConfig(model.ValidationRelaxed))
	if err != nil {
		return "", fmt.Errorf("reading the PDF: %w", err)
	}
	if ctx.Info == nil {
		return "", ErrNoCode
	}
	info, err := ctx.DereferenceDict(*ctx.Info)
	if err != nil {
		return "", fmt.Errorf("reading the PDF's Info: %w", err)
	}
	// The raw bytes: a text string would read GS and US as PDFDocEncoding's
	// accents.
	kw, ok := info["Keywords"].(types.StringLiteral)
	if !ok {
		return "", ErrNoCode
	}
	raw, err := types.Unescape(kw.Value())
	if err != nil || !bytes.HasPrefix(raw, []byte("DC04")) {
		return "", ErrNoCode
	}
	return string(raw), nil
}
