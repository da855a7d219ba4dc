package attestation

import (
	"testing"

	"github.com/johnfercher/maroto/v2/pkg/consts/fontfamily"

	"github.com/cpam/attestd/internal/pdftext"
)

// TestExtractTextBuiltinFont reads the benchmark baseline, drawn with
// maroto's built-in Arial (WinAnsi encoding, no ToUnicode map).
func TestExtractTextBuiltinFont(t *testing.T) {
	r := newRenderer(t)
	in := peigneFamily(t)
	m := newMaroto(attestationConfig(in, fontfamily.Arial, nil), in.IssuedAt)
	if err := (&layout{family: fontfamily.Arial, metrics: r.metrics}).build(m, in); err != nil {
		t.Fatal(err)
	}
	doc, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	text, err := pdftext.ExtractText(doc.GetBytes())
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, text,
		"PEIGNE\tLÉA\t02/03/2015\t1\tEnfant\t2 15 03 69 123 245 11\tdepuis le 02/03/2015",
		"LÉA : Complémentaire santé solidaire (C2S) du 01/01/2026 au 31/12/2026")
}
