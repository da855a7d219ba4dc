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
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

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
		if sub, err = compact(sub); err != nil {
			log.Fatalf("compacting %s: %v", in, err)
		}
		if err := os.WriteFile(filepath.Join(*dst, out), sub, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d bytes -> %s: %d bytes\n", in, len(b), out, len(sub))
	}
}

// compact drops from a TrueType font what a PDF viewer does not need and
// every attestation would carry (issue 14: the font was 80 % of the PDF):
// the hinting (the cvt, fpgm and prep tables and each glyph's
// instructions; viewers hint outlines themselves), and the name records
// other than 0 to 6 (copyright, family, style, identifier, full name,
// version, PostScript name), which is what fontTools' and HarfBuzz's
// subsetters keep by default; the licence text they drop travels with the
// font file (LICENSE-DejaVu.txt) and the project. Glyphs, metrics and the
// character map are unchanged.
func compact(font []byte) ([]byte, error) {
	tables, err := readTables(font)
	if err != nil {
		return nil, err
	}
	for _, tag := range []string{"cvt ", "fpgm", "prep", "hdmx", "LTSH", "VDMX"} {
		delete(tables, tag)
	}
	if tables["name"], err = keepNames(tables["name"], 6); err != nil {
		return nil, err
	}
	head, maxp := tables["head"], tables["maxp"]
	if len(head) < 54 || len(maxp) < 32 {
		return nil, fmt.Errorf("head or maxp table too short")
	}
	longLoca := binary.BigEndian.Uint16(head[50:]) == 1
	n := int(binary.BigEndian.Uint16(maxp[4:]))
	glyf, loca, err := stripInstructions(tables["glyf"], tables["loca"], n, longLoca)
	if err != nil {
		return nil, err
	}
	tables["glyf"], tables["loca"] = glyf, loca
	maxp = bytes.Clone(maxp)
	binary.BigEndian.PutUint16(maxp[26:], 0) // maxSizeOfInstructions
	tables["maxp"] = maxp
	return writeFont(tables), nil
}

func readTables(font []byte) (map[string][]byte, error) {
	if len(font) < 12 {
		return nil, fmt.Errorf("not a TrueType font")
	}
	n := int(binary.BigEndian.Uint16(font[4:]))
	tables := map[string][]byte{}
	for i := range n {
		rec := font[12+16*i:]
		off, size := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(size) > uint64(len(font)) {
			return nil, fmt.Errorf("table %q out of the file", rec[:4])
		}
		tables[string(rec[:4])] = font[off : off+size]
	}
	return tables, nil
}

// keepNames rebuilds a name table (format 0) with the records whose name
// id is at most maxID.
func keepNames(name []byte, maxID uint16) ([]byte, error) {
	if len(name) < 6 || binary.BigEndian.Uint16(name) != 0 {
		return nil, fmt.Errorf("name table: want format 0")
	}
	count, storage := int(binary.BigEndian.Uint16(name[2:])), int(binary.BigEndian.Uint16(name[4:]))
	var recs, strs []byte
	for i := range count {
		r := name[6+12*i : 18+12*i]
		if binary.BigEndian.Uint16(r[6:]) > maxID {
			continue
		}
		ln, off := int(binary.BigEndian.Uint16(r[8:])), int(binary.BigEndian.Uint16(r[10:]))
		if storage+off+ln > len(name) {
			return nil, fmt.Errorf("name record %d out of the table", i)
		}
		rec := bytes.Clone(r)
		binary.BigEndian.PutUint16(rec[10:], uint16(len(strs)))
		recs = append(recs, rec...)
		strs = append(strs, name[storage+off:storage+off+ln]...)
	}
	out := binary.BigEndian.AppendUint16(nil, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(len(recs)/12))
	out = binary.BigEndian.AppendUint16(out, uint16(6+len(recs)))
	return append(append(out, recs...), strs...), nil
}

// stripInstructions removes the TrueType instructions of every glyph and
// rebuilds loca in the same format; glyphs stay 4-byte aligned.
func stripInstructions(glyf, loca []byte, n int, long bool) ([]byte, []byte, error) {
	offset := func(i int) int {
		if long {
			return int(binary.BigEndian.Uint32(loca[4*i:]))
		}
		return 2 * int(binary.BigEndian.Uint16(loca[2*i:]))
	}
	if (long && len(loca) < 4*(n+1)) || (!long && len(loca) < 2*(n+1)) {
		return nil, nil, fmt.Errorf("loca too short for %d glyphs", n)
	}
	var out, newLoca []byte
	putLoca := func() {
		if long {
			newLoca = binary.BigEndian.AppendUint32(newLoca, uint32(len(out)))
		} else {
			newLoca = binary.BigEndian.AppendUint16(newLoca, uint16(len(out)/2))
		}
	}
	for i := range n {
		putLoca()
		start, end := offset(i), offset(i+1)
		if start > end || end > len(glyf) {
			return nil, nil, fmt.Errorf("glyph %d out of glyf", i)
		}
		g, err := stripGlyph(glyf[start:end])
		if err != nil {
			return nil, nil, fmt.Errorf("glyph %d: %w", i, err)
		}
		out = append(out, g...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	putLoca()
	return out, newLoca, nil
}

func stripGlyph(g []byte) ([]byte, error) {
	if len(g) == 0 {
		return nil, nil
	}
	if len(g) < 10 {
		return nil, fmt.Errorf("truncated header")
	}
	contours := int16(binary.BigEndian.Uint16(g))
	if contours >= 0 {
		at := 10 + 2*int(contours)
		if at+2 > len(g) {
			return nil, fmt.Errorf("truncated contours")
		}
		skip := int(binary.BigEndian.Uint16(g[at:]))
		if at+2+skip > len(g) {
			return nil, fmt.Errorf("truncated instructions")
		}
		out := append(bytes.Clone(g[:at]), 0, 0)
		return append(out, g[at+2+skip:]...), nil
	}
	// A composite glyph: its components, then instructions if the last
	// one says so (WE_HAVE_INSTRUCTIONS, 0x100).
	out := bytes.Clone(g)
	at := 10
	for {
		if at+4 > len(out) {
			return nil, fmt.Errorf("truncated component")
		}
		flags := binary.BigEndian.Uint16(out[at:])
		size := 4 + 4
		if flags&0x1 == 0 { // ARG_1_AND_2_ARE_WORDS
			size = 4 + 2
		}
		switch {
		case flags&0x8 != 0: // WE_HAVE_A_SCALE
			size += 2
		case flags&0x40 != 0: // WE_HAVE_AN_X_AND_Y_SCALE
			size += 4
		case flags&0x80 != 0: // WE_HAVE_A_TWO_BY_TWO
			size += 8
		}
		binary.BigEndian.PutUint16(out[at:], flags&^0x100)
		at += size
		if at > len(out) {
			return nil, fmt.Errorf("truncated component")
		}
		if flags&0x20 == 0 { // MORE_COMPONENTS
			return out[:at], nil
		}
	}
}

// writeFont lays the tables out in tag order, 4-byte aligned, with their
// checksums and head's checkSumAdjustment.
func writeFont(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	n := len(tags)
	pow := 1
	for pow*2 <= n {
		pow *= 2
	}
	log2 := 0
	for 1<<(log2+1) <= pow {
		log2++
	}
	out := binary.BigEndian.AppendUint32(nil, 0x00010000)
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	out = binary.BigEndian.AppendUint16(out, uint16(16*pow))
	out = binary.BigEndian.AppendUint16(out, uint16(log2))
	out = binary.BigEndian.AppendUint16(out, uint16(16*n-16*pow))
	dir := len(out)
	out = append(out, make([]byte, 16*n)...)
	headAt := 0
	for i, tag := range tags {
		data := tables[tag]
		if tag == "head" {
			data = bytes.Clone(data)
			binary.BigEndian.PutUint32(data[8:], 0)
			headAt = len(out)
		}
		rec := out[dir+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[4:], checksum(data))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
