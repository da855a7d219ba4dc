package pdftext

import (
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// How ExtractText turns the bytes of a shown string into text: through the
// font's ToUnicode CMap when it has one (every font gofpdf embeds does), else
// through its simple encoding (WinAnsi for the built-in fonts).

// cmapRange is one bfrange of a ToUnicode CMap: codes lo..hi map either to
// consecutive values from start, or one by one to the strings of list.
type cmapRange struct {
	lo, hi uint32
	start  []uint16
	list   []string
}

// toUnicode is a parsed ToUnicode CMap.
type toUnicode struct {
	codeLen int // bytes per code, from the codespace range; 0: unknown
	chars   map[uint32]string
	ranges  []cmapRange
}

// parseToUnicode reads the bfchar and bfrange sections of a ToUnicode CMap
// (ISO 32000-1, 9.10.3). Malformed entries are skipped.
func parseToUnicode(data []byte) *toUnicode {
	cm := &toUnicode{chars: map[uint32]string{}}
	l := &lexer{b: data}
	for t := l.next(); t.kind != tokEOF; t = l.next() {
		if t.kind != tokKeyword {
			continue
		}
		switch string(t.str) {
		case "begincodespacerange":
			if lo := l.next(); lo.kind == tokString && cm.codeLen == 0 {
				cm.codeLen = len(lo.str)
			}
		case "beginbfchar":
			for {
				src, dst := l.next(), l.next()
				if src.kind != tokString || dst.kind != tokString {
					break
				}
				cm.chars[codeOf(src.str)] = utf16BE(dst.str)
			}
		case "beginbfrange":
			for {
				lo, hi := l.next(), l.next()
				if lo.kind != tokString || hi.kind != tokString {
					break
				}
				r := cmapRange{lo: codeOf(lo.str), hi: codeOf(hi.str)}
				switch dst := l.next(); dst.kind {
				case tokString:
					r.start = utf16Units(dst.str)
				case tokArrayOpen:
					for e := l.next(); e.kind == tokString; e = l.next() {
						r.list = append(r.list, utf16BE(e.str))
					}
				default:
					continue
				}
				cm.ranges = append(cm.ranges, r)
			}
		}
	}
	return cm
}

// lookup maps one code to its text.
func (cm *toUnicode) lookup(code uint32) (string, bool) {
	if s, ok := cm.chars[code]; ok {
		return s, true
	}
	for _, r := range cm.ranges {
		if code < r.lo || code > r.hi {
			continue
		}
		off := code - r.lo
		if r.list != nil {
			if int(off) < len(r.list) {
				return r.list[off], true
			}
			return "", false
		}
		if len(r.start) == 0 {
			return "", false
		}
		units := append([]uint16(nil), r.start...)
		units[len(units)-1] += uint16(off)
		return string(utf16.Decode(units)), true
	}
	return "", false
}

// codeOf reads a big-endian character code.
func codeOf(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = c<<8 | uint32(x)
	}
	return c
}

func utf16Units(b []byte) []uint16 {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return u
}

func utf16BE(b []byte) string { return string(utf16.Decode(utf16Units(b))) }

// fontDecoder turns the bytes of a string shown in one font into text.
type fontDecoder struct {
	codeLen int        // 1 for simple fonts, 2 for Type0 (Identity-H)
	cmap    *toUnicode // nil when the font has no ToUnicode
	simple  *charmap.Charmap
	diff    map[byte]rune // a simple font's /Differences that name their code point
}

// decode returns the text of the shown bytes b.
func (d *fontDecoder) decode(b []byte) string {
	n := d.codeLen
	if d.cmap != nil && d.cmap.codeLen > 0 {
		n = d.cmap.codeLen
	}
	if n <= 0 {
		n = 1
	}
	var out strings.Builder
	for i := 0; i+n <= len(b); i += n {
		code := codeOf(b[i : i+n])
		if d.cmap != nil {
			if s, ok := d.cmap.lookup(code); ok {
				out.WriteString(s)
				continue
			}
		}
		if r, ok := d.diff[byte(code)]; ok && n == 1 {
			out.WriteRune(r)
			continue
		}
		switch {
		case n == 2: // Identity-H without a map: gofpdf uses the code point as CID
			out.WriteString(string(utf16.Decode([]uint16{uint16(code)})))
		case d.simple != nil:
			out.WriteRune(d.simple.DecodeByte(byte(code)))
		default:
			out.WriteRune(rune(code))
		}
	}
	return out.String()
}

// simpleEncoding is the single-byte encoding named by a simple font's
// /Encoding (or its /BaseEncoding). Unknown or absent: windows-1252, which
// agrees with StandardEncoding on letters and digits.
func simpleEncoding(name string) *charmap.Charmap {
	if name == "MacRomanEncoding" {
		return charmap.Macintosh
	}
	return charmap.Windows1252
}

// glyphRune reads the glyph names of a /Differences array that carry their
// code point: "uni00E9", "u00E9", or a single ASCII letter.
func glyphRune(name string) (rune, bool) {
	switch {
	case len(name) == 1:
		return rune(name[0]), true
	case len(name) == 7 && strings.HasPrefix(name, "uni"):
		v, err := strconv.ParseUint(name[3:], 16, 32)
		return rune(v), err == nil
	case len(name) >= 5 && len(name) <= 7 && name[0] == 'u':
		v, err := strconv.ParseUint(name[1:], 16, 32)
		return rune(v), err == nil
	}
	return 0, false
}
