package attestation

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/pagesize"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"github.com/phpdave11/gofpdf"

	"github.com/cpam/attestd/rules"
)

// fontFamily is the name the embedded DejaVu Sans subsets are registered
// under in each document.
const fontFamily = "dejavu"

// Page geometry, in millimetres (A4 portrait).
const (
	marginSide   = 15.0
	marginTop    = 12.0
	marginBottom = 14.0
	gridColumns  = 100 // columns are sized in percent of the page width
)

// attestationTitle is the document title, printed and in the metadata.
const attestationTitle = "Attestation de droits à l'assurance maladie"

// config is the maroto configuration of one attestation. Every document
// shares the font bytes: attestd's gofpdf (third_party/gofpdf) parses them
// once per process and never writes into them (upstream's subsetting wrote
// into the buffer, so each document needed a copy).
//
// The attestation uses one font, regular only, and marks headings with size
// and colour: gofpdf parses, subsets and compresses every font of every
// document, and a bold face would cost each render about 2 ms and 4 MB.
func (r *PDFRenderer) config(in AttestationInput) *entity.Config {
	fonts := []*entity.CustomFont{{Family: fontFamily, Style: fontstyle.Normal, Bytes: r.font}}
	return attestationConfig(in, fontFamily, fonts)
}

// attestationConfig is the configuration shared by the renderer and the
// benchmark baseline: A4, margins, metadata, compression, page numbers. family
// is the font family every text uses; fonts are the custom fonts to load
// (none for a built-in family).
func attestationConfig(in AttestationInput, family string, fonts []*entity.CustomFont) *entity.Config {
	author := printable(in.Compte.Organisme.Libelle)
	if author == "" {
		author = "Assurance Maladie"
	}
	b := config.NewBuilder().
		WithPageSize(pagesize.A4).
		WithLeftMargin(marginSide).
		WithRightMargin(marginSide).
		WithTopMargin(marginTop).
		WithBottomMargin(marginBottom).
		WithMaxGridSize(gridColumns).
		WithDefaultFont(&props.Font{Family: family, Size: sizeBody, Color: colorText()}).
		WithCompression(true).
		WithTitle(attestationTitle, true).
		WithAuthor(author, true).
		WithSubject("Attestation de droits, référence "+printable(in.Reference), true).
		WithCreator("attestd", true).
		WithCreationDate(in.IssuedAt).
		WithPageNumber(props.PageNumber{
			Pattern: "Référence " + printable(in.Reference) + " · page {current}/{total} · délivrée le " +
				rules.DateOf(in.IssuedAt).French(),
			Place:  props.RightBottom,
			Family: family,
			Size:   sizeSmall,
			Color:  colorMuted(),
		})
	if len(fonts) > 0 {
		b = b.WithCustomFonts(fonts)
	}
	return b.Build()
}

// fontMetrics holds the advance width of every drawable rune, in millimetres
// at 1 pt, measured once from the embedded font. Layout uses it to shrink the
// cells that must stay on one line (first names, NIR, dates) and to break
// long lines itself.
type fontMetrics struct {
	widths map[rune]float64
}

// measureFont loads the font into a scratch gofpdf document, which also
// proves that gofpdf can parse it, and measures every covered rune.
func measureFont(font []byte) (*fontMetrics, error) {
	pdf := gofpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(fontFamily, "", font)
	pdf.SetFont(fontFamily, "", 1)
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("gofpdf cannot use the font: %w", err)
	}
	m := &fontMetrics{widths: map[rune]float64{}}
	for _, rg := range fontCoverage.R16 {
		for c := rune(rg.Lo); c <= rune(rg.Hi); c += rune(rg.Stride) {
			m.widths[c] = pdf.GetStringWidth(string(c))
		}
	}
	if m.widths['M'] <= 0 || m.widths['É'] <= 0 {
		return nil, errors.New("the font has no width for M or É")
	}
	return m, nil
}

// width is the width of s in millimetres at size points.
func (m *fontMetrics) width(s string, size float64) float64 {
	var w float64
	for _, c := range s {
		cw, ok := m.widths[c]
		if !ok || unicode.IsControl(c) {
			cw = m.widths['M']
		}
		w += cw
	}
	return w * size
}

// fit returns the largest size, from size down to minSize in steps of a
// quarter point, at which s fits in width millimetres; minSize when none does
// (the text then wraps).
func (m *fontMetrics) fit(s string, size, minSize, width float64) float64 {
	for ; size > minSize; size -= 0.25 {
		if m.width(s, size) <= width {
			return size
		}
	}
	return minSize
}

// wrap breaks s into lines no wider than width millimetres at size points,
// after a space or, when it must, after a hyphen: "JEAN-BAPTISTE EMMANUEL"
// may become "JEAN-" and "BAPTISTE EMMANUEL". Joining the lines back with a
// space, or with nothing after a hyphen, gives s again (as
// pdftext.ReadAttestation does). A piece wider than width on its own keeps a
// line of its own.
func (m *fontMetrics) wrap(s string, size, width float64) []string {
	if m.width(s, size) <= width {
		return []string{s}
	}
	var lines []string
	cur := ""
	for _, piece := range wrapPieces(s) {
		next := cur + piece
		if cur != "" && m.width(strings.TrimRight(next, " "), size) > width {
			lines = append(lines, strings.TrimRight(cur, " "))
			next = piece
		}
		cur = next
	}
	if cur = strings.TrimRight(cur, " "); cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// wrapPieces cuts s after each run of spaces and after each hyphen.
func wrapPieces(s string) []string {
	var pieces []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '-':
			pieces = append(pieces, s[start:i+1])
			start = i + 1
		case s[i] == ' ' && (i+1 == len(s) || s[i+1] != ' '):
			pieces = append(pieces, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		pieces = append(pieces, s[start:])
	}
	return pieces
}
