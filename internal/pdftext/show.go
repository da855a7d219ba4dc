package pdftext

import "strings"

// The interpreter of page content streams for ExtractText: it follows the
// graphics and text state far enough to know where each string is shown
// (ISO 32000-1, 8.4.4 and 9.4).

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// operand is a content stream operand; only numbers, strings, names and
// arrays of them matter here.
type operand struct {
	tok   token
	array []token
}

// textState follows the operators of one content stream.
type textState struct {
	fonts    map[string]*fontDecoder
	font     *fontDecoder
	ctm, tm  matrix
	tlm      matrix
	stack    []matrix
	leading  float64
	moved    bool // the text position changed since the last run
	runs     []textRun
	fallback fontDecoder
}

// showText returns the text runs of a content stream.
func showText(content []byte, fonts map[string]*fontDecoder) []textRun {
	st := &textState{fonts: fonts, ctm: identity, tm: identity, tlm: identity, moved: true,
		fallback: fontDecoder{codeLen: 1, simple: simpleEncoding("")}}
	l := &lexer{b: content}
	var ops []operand
	for t := l.next(); t.kind != tokEOF; t = l.next() {
		switch t.kind {
		case tokArrayOpen:
			ops = append(ops, operand{tok: t, array: readArray(l)})
		case tokDictOpen:
			skipDict(l)
		case tokKeyword:
			if string(t.str) == "BI" {
				skipInlineImage(l)
			} else {
				st.do(string(t.str), ops)
			}
			ops = ops[:0]
		default:
			ops = append(ops, operand{tok: t})
		}
	}
	return st.runs
}

// readArray reads the elements of an array after its "[", nested arrays
// flattened into it.
func readArray(l *lexer) []token {
	var out []token
	for depth := 1; depth > 0; {
		switch t := l.next(); t.kind {
		case tokEOF:
			return out
		case tokDictOpen:
			skipDict(l)
		case tokArrayOpen:
			depth++
		case tokArrayClose:
			depth--
		default:
			out = append(out, t)
		}
	}
	return out
}

// skipDict skips a dictionary after its "<<".
func skipDict(l *lexer) {
	for depth := 1; depth > 0; {
		switch l.next().kind {
		case tokEOF:
			return
		case tokDictOpen:
			depth++
		case tokDictClose:
			depth--
		}
	}
}

// skipInlineImage skips from BI to the end of the image's data.
func skipInlineImage(l *lexer) {
	for t := l.next(); t.kind != tokEOF; t = l.next() {
		if t.kind == tokKeyword && string(t.str) == "ID" {
			l.skipInlineImage()
			return
		}
	}
}

// nums returns the last n operands as numbers, or false.
func nums(ops []operand, n int) ([]float64, bool) {
	if len(ops) < n {
		return nil, false
	}
	out := make([]float64, n)
	for i, o := range ops[len(ops)-n:] {
		if o.tok.kind != tokNumber {
			return nil, false
		}
		out[i] = o.tok.num
	}
	return out, true
}

// do applies one operator.
func (st *textState) do(op string, ops []operand) {
	switch op {
	case "q":
		st.stack = append(st.stack, st.ctm)
	case "Q":
		if n := len(st.stack); n > 0 {
			st.ctm, st.stack = st.stack[n-1], st.stack[:n-1]
		}
	case "cm":
		if v, ok := nums(ops, 6); ok {
			st.ctm = matrix{v[0], v[1], v[2], v[3], v[4], v[5]}.mul(st.ctm)
		}
	case "BT":
		st.tm, st.tlm, st.moved = identity, identity, true
	case "Tf":
		if len(ops) >= 2 && ops[len(ops)-2].tok.kind == tokName {
			st.font = st.fonts[string(ops[len(ops)-2].tok.str)]
		}
	case "TL":
		if v, ok := nums(ops, 1); ok {
			st.leading = v[0]
		}
	case "Td", "TD":
		if v, ok := nums(ops, 2); ok {
			if op == "TD" {
				st.leading = -v[1]
			}
			st.newLine(v[0], v[1])
		}
	case "Tm":
		if v, ok := nums(ops, 6); ok {
			st.tm = matrix{v[0], v[1], v[2], v[3], v[4], v[5]}
			st.tlm, st.moved = st.tm, true
		}
	case "T*":
		st.newLine(0, -st.leading)
	case "Tj":
		st.showOperand(ops)
	case "'", `"`:
		st.newLine(0, -st.leading)
		st.showOperand(ops)
	case "TJ":
		if len(ops) > 0 && ops[len(ops)-1].array != nil {
			st.showArray(ops[len(ops)-1].array)
		}
	}
}

// newLine moves to the start of the next line, offset by (tx, ty).
func (st *textState) newLine(tx, ty float64) {
	st.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(st.tlm)
	st.tm, st.moved = st.tlm, true
}

// showOperand shows the last operand when it is a string.
func (st *textState) showOperand(ops []operand) {
	if len(ops) > 0 && ops[len(ops)-1].tok.kind == tokString {
		st.show(st.decoder().decode(ops[len(ops)-1].tok.str))
	}
}

// showArray shows a TJ array; a kerning adjustment wider than a quarter of
// an em reads as a space.
func (st *textState) showArray(a []token) {
	var b strings.Builder
	for _, t := range a {
		switch t.kind {
		case tokString:
			b.WriteString(st.decoder().decode(t.str))
		case tokNumber:
			if t.num < -250 && b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
				b.WriteByte(' ')
			}
		}
	}
	st.show(b.String())
}

func (st *textState) decoder() *fontDecoder {
	if st.font != nil {
		return st.font
	}
	return &st.fallback
}

// show records text at the current position. Text shown again without a
// move continues the previous run: its position would be the same.
func (st *textState) show(s string) {
	if s == "" {
		return
	}
	if !st.moved && len(st.runs) > 0 {
		st.runs[len(st.runs)-1].s += s
		return
	}
	m := st.tm.mul(st.ctm)
	st.runs = append(st.runs, textRun{x: m[4], y: m[5], s: s})
	st.moved = false
}
