package gofpdf

// attestd patch (see ATTESTD.md): what AddUTF8FontFromBytes and
// GenerateCutFont derive from a font's bytes alone is computed once per
// process and shared, read-only, by every document that adds the same bytes.
// Upstream parses the TTF, JSON-encodes its 65,536 widths for the font id
// and parses the tables again for the subset, for every document.

import (
	"bytes"
	"compress/zlib"
	"sort"
	"sync"
)

// parsedUTF8Font is one font's bytes and what they give. Nothing in it is
// written after loadUTF8Font returns, except ids under mu.
type parsedUTF8Font struct {
	data []byte // a private copy of the font
	desc FontDescType
	up   int
	ut   int
	cw   []int
	cut  *utf8CutBase

	mu      sync.Mutex
	ids     map[string]string      // font key → id (the id covers the key)
	subsets map[string]*utf8Subset // subsetKey → subset, at most maxUTF8Subsets
}

// utf8CutBase is what GenerateCutFont reads from the font before it looks at
// the runes a document uses.
type utf8CutBase struct {
	tableDescriptions    map[string]*tableDescription
	charSymbolDictionary map[int]int
	symbolPosition       []int
	locaFormat           int
	metricsCount         int
	numSymbols           int
}

// maxParsedUTF8Fonts bounds the cache: a process that adds more distinct
// fonts than this parses the others per document, as upstream does.
const maxParsedUTF8Fonts = 16

var parsedUTF8Fonts struct {
	sync.Mutex
	m map[string]*parsedUTF8Font
}

// loadUTF8Font returns the parsed font for b, parsing it on first use.
func loadUTF8Font(b []byte) (*parsedUTF8Font, error) {
	parsedUTF8Fonts.Lock()
	p := parsedUTF8Fonts.m[string(b)]
	parsedUTF8Fonts.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := parseUTF8Font(bytes.Clone(b))
	if err != nil {
		return nil, err
	}
	parsedUTF8Fonts.Lock()
	defer parsedUTF8Fonts.Unlock()
	if q := parsedUTF8Fonts.m[string(b)]; q != nil {
		return q, nil
	}
	if parsedUTF8Fonts.m == nil {
		parsedUTF8Fonts.m = map[string]*parsedUTF8Font{}
	}
	if len(parsedUTF8Fonts.m) < maxParsedUTF8Fonts {
		parsedUTF8Fonts.m[string(p.data)] = p
	}
	return p, nil
}

func parseUTF8Font(data []byte) (*parsedUTF8Font, error) {
	utf := newUTF8Font(&fileReader{array: data})
	if err := utf.parseFile(); err != nil {
		return nil, err
	}
	return &parsedUTF8Font{
		data: data,
		desc: FontDescType{
			Ascent:       int(utf.Ascent),
			Descent:      int(utf.Descent),
			CapHeight:    utf.CapHeight,
			Flags:        utf.Flags,
			FontBBox:     utf.Bbox,
			ItalicAngle:  utf.ItalicAngle,
			StemV:        utf.StemV,
			MissingWidth: round(utf.DefaultWidth),
		},
		up:      int(round(utf.UnderlinePosition)),
		ut:      round(utf.UnderlineThickness),
		cw:      utf.CharWidths,
		cut:     prepareCut(data),
		ids:     map[string]string{},
		subsets: map[string]*utf8Subset{},
	}, nil
}

// file returns a utf8FontFile of its own for one document: its reading
// position and subset are the document's, the bytes and tables shared.
func (p *parsedUTF8Font) file() *utf8FontFile {
	utf := newUTF8Font(&fileReader{array: p.data})
	utf.cutBase = p.cut
	utf.parsed = p
	return utf
}

// id returns generateFontID(def) for def made from p, computed once per key.
func (p *parsedUTF8Font) id(def fontDefType) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.ids[def.Name]; ok {
		return id
	}
	id, _ := generateFontID(def)
	p.ids[def.Name] = id
	return id
}

// prepareCut reads the tables, the character map and the glyph locations of
// a font, as GenerateCutFont did at its start; nil when the font has no
// Unicode character map.
func prepareCut(data []byte) *utf8CutBase {
	utf := newUTF8Font(&fileReader{array: data})
	utf.skip(4)
	utf.generateTableDescriptions()
	b := &utf8CutBase{tableDescriptions: utf.tableDescriptions}

	utf.SeekTable("head")
	utf.skip(50)
	b.locaFormat = utf.readUint16()

	utf.SeekTable("hhea")
	utf.skip(34)
	b.metricsCount = utf.readUint16()

	utf.SeekTable("maxp")
	utf.skip(4)
	b.numSymbols = utf.readUint16()

	if utf.generateCMAP() == nil {
		return nil
	}
	b.charSymbolDictionary = utf.charSymbolDictionary
	utf.parseLOCATable(b.locaFormat, b.numSymbols)
	b.symbolPosition = utf.symbolPosition
	return b
}

// zlibWriters keeps compressors for sliceCompress: a zlib writer allocates
// about 1 MB, and a document compresses several streams. A reset writer
// writes the same bytes as a new one.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return w
}}

// utf8Subset is what a UTF-8 font's subset puts in a PDF: it depends on the
// font and the runes the document uses, nothing else.
type utf8Subset struct {
	font     []byte // the subset font file, compressed
	fontSize int    // its size before compression
	widths   string // the content of the CID font's /W array
	cidToGID []byte // the CIDToGIDMap stream, compressed
}

// maxUTF8Subsets bounds the subsets kept per font.
const maxUTF8Subsets = 64

// utf8FontSubset returns the subset of font for its used runes, made once
// per set of runes for a font added from bytes.
func utf8FontSubset(font *fontDefType) *utf8Subset {
	usedRunes := font.usedRunes
	delete(usedRunes, 0)
	p := font.utf8File.parsed
	var key string
	if p != nil {
		key = subsetKey(usedRunes)
		p.mu.Lock()
		s := p.subsets[key]
		p.mu.Unlock()
		if s != nil {
			return s
		}
	}
	stream := font.utf8File.GenerateCutFont(usedRunes)
	s := &utf8Subset{font: sliceCompress(stream), fontSize: len(stream)}
	codes := font.utf8File.CodeSymbolDictionary
	delete(codes, 0)
	s.widths = cidFontWidths(font, font.utf8File.LastRune)
	cidToGID := make([]byte, 256*256*2)
	for cc, glyph := range codes {
		cidToGID[cc*2] = byte(glyph >> 8)
		cidToGID[cc*2+1] = byte(glyph & 0xFF)
	}
	s.cidToGID = sliceCompress(cidToGID)
	if p != nil {
		p.mu.Lock()
		if len(p.subsets) >= maxUTF8Subsets {
			for k := range p.subsets {
				delete(p.subsets, k)
				break
			}
		}
		p.subsets[key] = s
		p.mu.Unlock()
	}
	return s
}

// subsetKey names the set of runes a subset depends on: the non-zero values
// of usedRunes (GenerateCutFont and cidFontWidths read nothing else).
func subsetKey(usedRunes map[int]int) string {
	runes := make([]int, 0, len(usedRunes))
	for _, r := range usedRunes {
		if r != 0 {
			runes = append(runes, r)
		}
	}
	sort.Ints(runes)
	b := make([]byte, 0, 3*len(runes))
	for _, r := range runes {
		b = append(b, byte(r>>16), byte(r>>8), byte(r))
	}
	return string(b)
}

// ownCopy returns b, or a copy of it when the document is encrypted:
// putstream encrypts in place, and b may be shared by documents.
func (f *Fpdf) ownCopy(b []byte) []byte {
	if f.protect.encrypted {
		return bytes.Clone(b)
	}
	return b
}
