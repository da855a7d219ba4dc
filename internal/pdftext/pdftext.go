package pdftext

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ExtractText returns the text of a PDF the way a person reads it: pages in
// order, each page's lines from top to bottom, each line's pieces from left
// to right. Pieces drawn separately on one baseline (the cells of a table
// row, a label and its value) are separated by a tab; lines end with "\n";
// every page ends with a form feed "\f", as pdftotext does.
//
// It is written for the PDFs this package makes (gofpdf, embedded TrueType
// fonts with a ToUnicode map, built-in fonts in WinAnsi) and reads the text
// operators of page content streams only: no form XObjects, no annotations,
// no encrypted files. It is pure Go (pdfcpu reads the file structure).
func ExtractText(pdf []byte) (string, error) {
	pages, err := extractPages(pdf)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, lines := range pages {
		for _, ln := range lines {
			for i, c := range ln {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(c.s)
			}
			b.WriteByte('\n')
		}
		b.WriteByte('\f')
	}
	return b.String(), nil
}

// PDFCPUConfig is a pdfcpu configuration built in memory, in validation
// mode (model.ValidationStrict or Relaxed).
// model.NewDefaultConfiguration would create a configuration directory in the
// user's home on first use: a daemon must not write there.
func PDFCPUConfig(mode int) *model.Configuration {
	return &model.Configuration{
		CreationDate:              time.Time{}.Format("2006-01-02 15:04"),
		Version:                   model.VersionStr,
		Reader15:                  true,
		ValidationMode:            mode,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Eol:                       types.EolLF,
		Offline:                   true,
		TimestampFormat:           "2006-01-02 15:04",
		DateFormat:                "2006-01-02",
		Limits:                    model.DefaultResourceLimits(),
	}
}

// textCell is a piece of a line: its text and where it starts, in points
// from the page's left edge.
type textCell struct {
	x float64
	s string
}

// extractPages returns, per page, its lines top to bottom, each line its
// pieces left to right.
func extractPages(pdf []byte) (pages [][][]textCell, err error) {
	defer func() {
		// pdfcpu reports some malformed input by panicking.
		if r := recover(); r != nil {
			pages, err = nil, fmt.Errorf("reading the PDF: malformed file (%v)", r)
		}
	}()
	ctx, err := api.ReadContext(bytes.NewReader(pdf), PDFCPUConfig(model.ValidationRelaxed))
	if err != nil {
		return nil, fmt.Errorf("reading the PDF: %w", err)
	}
	if ctx.XRefTable.Encrypt != nil {
		return nil, errors.New("reading the PDF: the file is encrypted, its text cannot be read")
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("reading the PDF's pages: %w", err)
	}
	for p := 1; p <= ctx.PageCount; p++ {
		d, _, inh, err := ctx.PageDict(p, false)
		if err != nil {
			return nil, fmt.Errorf("reading page %d: %w", p, err)
		}
		content, err := ctx.PageContent(d, p)
		if err != nil && !errors.Is(err, model.ErrNoContent) {
			return nil, fmt.Errorf("reading page %d's content: %w", p, err)
		}
		var res types.Dict
		if inh != nil {
			res = inh.Resources
		}
		pages = append(pages, arrange(showText(content, pageFonts(ctx, res))))
	}
	return pages, nil
}

// pageFonts returns a decoder for each font of a page's resources, by
// resource name. A font that cannot be read gets no decoder: its text is
// then read as windows-1252 bytes.
func pageFonts(ctx *model.Context, res types.Dict) map[string]*fontDecoder {
	out := map[string]*fontDecoder{}
	if res == nil {
		return out
	}
	o, ok := res.Find("Font")
	if !ok {
		return out
	}
	fonts, err := ctx.DereferenceDict(o)
	if err != nil {
		return out
	}
	for name, o := range fonts {
		f, err := ctx.DereferenceDict(o)
		if err != nil || f == nil {
			continue
		}
		out[name] = fontDecoderOf(ctx, f)
	}
	return out
}

// fontDecoderOf reads a font dictionary's subtype, ToUnicode and encoding.
func fontDecoderOf(ctx *model.Context, f types.Dict) *fontDecoder {
	d := &fontDecoder{codeLen: 1}
	if st := f.NameEntry("Subtype"); st != nil && *st == "Type0" {
		d.codeLen = 2
	}
	if o, ok := f.Find("ToUnicode"); ok {
		if sd, _, err := ctx.DereferenceStreamDict(o); err == nil && sd != nil && sd.Decode() == nil {
			d.cmap = parseToUnicode(sd.Content)
		}
	}
	enc, _ := f.Find("Encoding")
	enc, _ = ctx.Dereference(enc)
	switch e := enc.(type) {
	case types.Name:
		d.simple = simpleEncoding(string(e))
	case types.Dict:
		base := ""
		if n := e.NameEntry("BaseEncoding"); n != nil {
			base = *n
		}
		d.simple = simpleEncoding(base)
		d.diff = differences(ctx, e.ArrayEntry("Differences"))
	default:
		d.simple = simpleEncoding("")
	}
	return d
}

// differences reads a /Differences array: a code, then the glyph names of
// that code and the following ones.
func differences(ctx *model.Context, a types.Array) map[byte]rune {
	out := map[byte]rune{}
	code := 0
	for _, o := range a {
		o, _ = ctx.Dereference(o)
		switch v := o.(type) {
		case types.Integer:
			code = int(v)
		case types.Name:
			if r, ok := glyphRune(string(v)); ok && code >= 0 && code < 256 {
				out[byte(code)] = r
			}
			code++
		}
	}
	return out
}

// textRun is text shown at one position of a page, in page space (y grows
// upwards).
type textRun struct {
	x, y float64
	s    string
}

// sameLine is how far apart two baselines may be, in points, and still make
// one line.
const sameLine = 1.0

// arrange groups runs into lines, top to bottom, each left to right.
func arrange(runs []textRun) [][]textCell {
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].y > runs[j].y })
	var lines [][]textCell
	lastY := math.Inf(1)
	var lineRuns []textRun
	flush := func() {
		if len(lineRuns) == 0 {
			return
		}
		sort.SliceStable(lineRuns, func(i, j int) bool { return lineRuns[i].x < lineRuns[j].x })
		var cells []textCell
		for _, r := range lineRuns {
			cells = append(cells, textCell{x: r.x, s: r.s})
		}
		lines = append(lines, cells)
		lineRuns = nil
	}
	for _, r := range runs {
		if strings.TrimSpace(r.s) == "" {
			continue
		}
		if lastY-r.y > sameLine {
			flush()
			lastY = r.y
		}
		lineRuns = append(lineRuns, r)
	}
	flush()
	return lines
}
