package attestation

import (
	_ "embed"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

//go:generate go run ./fonts/subset.go -src /usr/share/fonts/truetype/dejavu -dst fonts

// fontRegular is the one font of the attestation: a Latin subset of DejaVu
// Sans 2.37 (58 KB instead of 760 KB), made by fonts/subset.go. DejaVu's
// licence (fonts/LICENSE-DejaVu.txt) allows embedding and subsetting; the
// subset keeps the DejaVu name, which the licence permits (only "Bitstream",
// "Vera" and "Arev" are reserved).
//
//go:embed fonts/DejaVuSans-Latin.ttf
var fontRegular []byte

// fontCoverage lists the runes the embedded subset has glyphs for. It must
// stay equal to latinRanges in fonts/subset.go; TestFontCoversItsRanges checks
// that every rune here has a glyph.
var fontCoverage = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x20, Hi: 0x7e, Stride: 1},
		{Lo: 0xa0, Hi: 0xff, Stride: 1},
		{Lo: 0x100, Hi: 0x17f, Stride: 1},
		{Lo: 0x192, Hi: 0x192, Stride: 1},
		{Lo: 0x2c6, Hi: 0x2c7, Stride: 1},
		{Lo: 0x2d8, Hi: 0x2dd, Stride: 1},
		{Lo: 0x2010, Hi: 0x2014, Stride: 1},
		{Lo: 0x2018, Hi: 0x201e, Stride: 1},
		{Lo: 0x2020, Hi: 0x2022, Stride: 1},
		{Lo: 0x2026, Hi: 0x2026, Stride: 1},
		{Lo: 0x202f, Hi: 0x2030, Stride: 1},
		{Lo: 0x2039, Hi: 0x203a, Stride: 1},
		{Lo: 0x20ac, Hi: 0x20ac, Stride: 1},
		{Lo: 0x2122, Hi: 0x2122, Stride: 1},
	},
	LatinOffset: 2,
}

// printable returns s with every rune the embedded font cannot draw replaced
// by the closest one it can: the letter without its accent when the
// compatibility decomposition has a drawable base ("ș" → "s", "ﬁ" → "fi"),
// "?" otherwise. Control characters become spaces. A glyph-less rune would
// otherwise print as an empty box and extract as nothing.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if !unicode.Is(fontCoverage, r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.Is(fontCoverage, r):
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteString(fallback(r))
		}
	}
	return b.String()
}

// fallback is the drawable stand-in for a rune outside fontCoverage.
func fallback(r rune) string {
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		if unicode.Is(fontCoverage, d) {
			b.WriteRune(d)
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
}
