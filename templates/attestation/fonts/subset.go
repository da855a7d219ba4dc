//go:build ignore

// Command subset writes the Latin subset of DejaVu Sans that the attestation
// PDF embeds (see ../attestation_font.go). It is run by hand, or by
// `go generate ./templates/attestation/`, when the character set changes:
//
//	go run ./fonts/subset.go -src /usr/share/fonts/truetype/dejavu
//
// The source font is DejaVu Sans 2.37 (Debian package fonts-dejavu-core).
// The subset keeps the glyphs of the runes listed in latinRanges, which must
// stay equal to fontCoverage in ../attestation_font.go
// (TestFontCoversItsRanges checks every rune has a glyph).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/phpdave11/gofpdf"
)

// latinRanges: ASCII, Latin-1, Latin Extended-A (names from all of Europe),
// and the typographic characters of windows-1252 plus the narrow no-break
// space French puts before ":" and ";".
var latinRanges = [][2]rune{
	{0x20, 0x7e},
	{0xa0, 0xff},
	{0x100, 0x17f},
	{0x192, 0x192},
	{0x2c6, 0x2c7},
	{0x2d8, 0x2dd},
	{0x2010, 0x2014},
	{0x2018, 0x201e},
	{0x2020, 0x2022},
	{0x2026, 0x2026},
	{0x2030, 0x2030},
	{0x2039, 0x203a},
	{0x202f, 0x202f},
	{0x20ac, 0x20ac},
	{0x2122, 0x2122},
}

func main() {
	src := flag.String("src", "/usr/share/fonts/truetype/dejavu", "directory holding DejaVuSans.ttf")
	dst := flag.String("dst", "fonts", "directory to write the subset to")
	flag.Parse()

	var cutset bytes.Buffer
	for _, r := range latinRanges {
		for c := r[0]; c <= r[1]; c++ {
			cutset.WriteRune(c)
		}
	}
	for in, out := range map[string]string{"DejaVuSans.ttf": "DejaVuSans-Latin.ttf"} {
		b, err := os.ReadFile(filepath.Join(*src, in))
		if err != nil {
			log.Fatalf("reading the source font: %v (install fonts-dejavu-core or pass -src)", err)
		}
		sub := gofpdf.UTF8CutFont(b, cutset.String())
		if len(sub) == 0 {
			log.Fatalf("subsetting %s gave an empty font", in)
		}
		if err := os.WriteFile(filepath.Join(*dst, out), sub, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d bytes -> %s: %d bytes\n", in, len(b), out, len(sub))
	}
}
