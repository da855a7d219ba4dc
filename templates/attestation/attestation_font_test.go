package attestation

import (
	"testing"

	"golang.org/x/image/font/sfnt"
)

// TestFontCoversItsRanges checks that the embedded subset has a glyph for
// every rune fontCoverage promises, so printable never lets an empty box
// through.
func TestFontCoversItsRanges(t *testing.T) {
	for name, data := range map[string][]byte{"regular": fontRegular} {
		f, err := sfnt.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf sfnt.Buffer
		missing := 0
		for _, rg := range fontCoverage.R16 {
			for c := rune(rg.Lo); c <= rune(rg.Hi); c += rune(rg.Stride) {
				if g, err := f.GlyphIndex(&buf, c); err != nil || g == 0 {
					missing++
					if missing < 10 {
						t.Errorf("%s: no glyph for %U %q", name, c, c)
					}
				}
			}
		}
		// And nothing far outside: the subset is a subset.
		if g, _ := f.GlyphIndex(&buf, 'Ж'); g != 0 {
			t.Errorf("%s: the subset still has Cyrillic", name)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"LÉA Œuvre « été » – 3 €": "LÉA Œuvre « été » – 3 €",
		"Ștefan Nguyễn":           "Stefan Nguyen",
		"ﬁnal":                    "final",
		"Дмитрий":                 "???????",
		"tab\there":               "tab here",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFitShrinksLongTextsOnly(t *testing.T) {
	r := newRenderer(t)
	if got := r.metrics.fit("LÉA", sizeTable, sizeMin, 20); got != sizeTable {
		t.Errorf("a short name shrinks to %v pt", got)
	}
	long := "MARIE-CHRISTINE-ÉLISABETH"
	got := r.metrics.fit(long, sizeTable, sizeMin, 34)
	if got >= sizeTable || got < sizeMin || r.metrics.width(long, got) > 34 {
		t.Errorf("a long name fits at %v pt, %.1f mm wide", got, r.metrics.width(long, got))
	}
}
