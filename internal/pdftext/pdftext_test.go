package pdftext

import (
	"reflect"
	"strconv"
	"testing"
)

func TestExtractTextRefusesGarbage(t *testing.T) {
	for _, in := range []string{"", "hello", "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF"} {
		if _, err := ExtractText([]byte(in)); err == nil {
			t.Errorf("ExtractText(%q) succeeded", in)
		}
	}
}

func TestShowTextOrdersLinesAndCells(t *testing.T) {
	content := `% a comment
q 1 0 0 1 0 0 cm
BT /F1 12 Tf 300 700 Td (World) Tj ET
BT /F1 12 Tf 72 700.4 Td (Hello) Tj ET
BT /F1 10 Tf 14 TL 72 680 Td [(Ke) -120 (rn) -600 (gap)] TJ T* (next\) line) Tj (, same run) Tj ET
BI /W 2 /H 1 /BPC 8 /CS /G ID ` + "\x00EI\xff" + ` EI
BT 72 600 Td <004C00C9> Tj ET
Q`
	fonts := map[string]*fontDecoder{"F1": {codeLen: 1, simple: simpleEncoding("WinAnsiEncoding")}}
	var got [][]string
	for _, line := range arrange(showText([]byte(content), fonts)) {
		var cells []string
		for _, c := range line {
			cells = append(cells, c.s)
		}
		got = append(got, cells)
	}
	want := [][]string{
		{"Hello", "World"},
		{"Kern gap"},
		{"next) line, same run"},
		{"\x00L\x00É"}, // no Tf in that text object: the last font (1-byte) stays
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestLexerTokens(t *testing.T) {
	l := &lexer{b: []byte(`(a\(b\)c\351\
d) <48 65 6c6C 6> (nested (paren)) /Na#6De 1.5 -.5 Tj`)}
	var got []string
	for tk := l.next(); tk.kind != tokEOF; tk = l.next() {
		switch tk.kind {
		case tokNumber:
			got = append(got, strconv.FormatFloat(tk.num, 'g', -1, 64))
		default:
			got = append(got, string(tk.str))
		}
	}
	want := []string{"a(b)c\xe9d", "Hell`", "nested (paren)", "Name", "1.5", "-0.5", "Tj"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestToUnicodeCMap(t *testing.T) {
	cm := parseToUnicode([]byte(`/CIDInit /ProcSet findresource begin
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0001> <0041> <0002> <00660069> endbfchar
2 beginbfrange <0010> <0012> <00E9> <0020> <0021> [<0153> <D83DDE00>] endbfrange
endcmap`))
	d := &fontDecoder{codeLen: 2, cmap: cm}
	got := d.decode([]byte{0, 1, 0, 2, 0, 0x10, 0, 0x12, 0, 0x20, 0, 0x21, 0, 0x4c})
	if want := "Afiéëœ😀L"; got != want {
		t.Errorf("decode = %q, want %q", got, want)
	}
}

// FuzzShowText feeds the content stream interpreter arbitrary bytes: it must
// neither panic nor hang.
func FuzzShowText(f *testing.F) {
	f.Add([]byte(`BT /F1 12 Tf 72 700 Td (Hello) Tj [(a) -300 (b)] TJ T* (c) ' ET`))
	f.Add([]byte(`q 1 0 0 1 5 5 cm BT <0041> Tj ET Q BI /W 1 ID x EI [[[ << /A [1 2] >>`))
	f.Add([]byte(`(unterminated \` + "\\" + `377 <4`))
	fonts := map[string]*fontDecoder{
		"F1": {codeLen: 2, cmap: parseToUnicode([]byte(`1 beginbfrange <0000> <FFFF> <0000> endbfrange`))},
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		arrange(showText(content, fonts))
		parseToUnicode(content)
	})
}
