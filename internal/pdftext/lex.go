package pdftext

import (
	"bytes"
	"strconv"
)

// The lexer of PDF content streams and CMaps (ISO 32000-1, 7.2 and 7.8):
// just enough syntax to follow text operators and skip everything else.

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tokEOF        tokKind = iota
	tokNumber             // 12, -3.5, .5
	tokString             // (literal) or <hex>, decoded to bytes
	tokName               // /Name, without the slash
	tokKeyword            // an operator or a CMap keyword: Tj, beginbfchar, true…
	tokArrayOpen          // [
	tokArrayClose         // ]
	tokDictOpen           // <<
	tokDictClose          // >>
)

// token is one lexical token of a content stream.
type token struct {
	kind tokKind
	num  float64
	str  []byte // string bytes, name or keyword
}

// lexer splits a content stream into tokens. It never fails: malformed
// input yields keywords that the interpreter ignores.
type lexer struct {
	b   []byte
	pos int
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// next returns the next token, tokEOF at the end.
func (l *lexer) next() token {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		switch {
		case isPDFSpace(c):
			l.pos++
		case c == '%':
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
		default:
			return l.token(c)
		}
	}
	return token{kind: tokEOF}
}

func (l *lexer) token(c byte) token {
	switch c {
	case '(':
		l.pos++
		return token{kind: tokString, str: l.literal()}
	case '<':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '<' {
			l.pos += 2
			return token{kind: tokDictOpen}
		}
		l.pos++
		return token{kind: tokString, str: l.hex()}
	case '>':
		l.pos++
		if l.pos < len(l.b) && l.b[l.pos] == '>' {
			l.pos++
			return token{kind: tokDictClose}
		}
		return token{kind: tokKeyword, str: []byte(">")}
	case '[':
		l.pos++
		return token{kind: tokArrayOpen}
	case ']':
		l.pos++
		return token{kind: tokArrayClose}
	case '/':
		l.pos++
		return token{kind: tokName, str: unescapeName(l.regular())}
	}
	if c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') {
		start := l.pos
		w := l.regular()
		if f, err := strconv.ParseFloat(string(w), 64); err == nil {
			return token{kind: tokNumber, num: f}
		}
		l.pos = start
	}
	w := l.regular()
	if len(w) == 0 { // a stray delimiter: consume it
		l.pos++
		w = l.b[l.pos-1 : l.pos]
	}
	return token{kind: tokKeyword, str: w}
}

// regular reads a run of regular characters.
func (l *lexer) regular() []byte {
	start := l.pos
	for l.pos < len(l.b) && !isPDFSpace(l.b[l.pos]) && !isPDFDelim(l.b[l.pos]) {
		l.pos++
	}
	return l.b[start:l.pos]
}

// literal reads a (string) after its opening parenthesis.
func (l *lexer) literal() []byte {
	var out []byte
	depth := 1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out
			}
		case '\\':
			if l.pos >= len(l.b) {
				return out
			}
			c = l.b[l.pos]
			l.pos++
			switch c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if c >= '0' && c <= '7' {
					v := int(c - '0')
					for i := 0; i < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; i++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// hex reads a <hex string> after its opening bracket.
func (l *lexer) hex() []byte {
	end := bytes.IndexByte(l.b[l.pos:], '>')
	if end < 0 {
		end = len(l.b) - l.pos
	}
	raw := l.b[l.pos : l.pos+end]
	l.pos += end + 1
	var out []byte
	var hi byte
	half := false
	for _, c := range raw {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half { // an odd final digit is followed by an implicit 0
		out = append(out, hi<<4)
	}
	return out
}

// skipInlineImage moves past the binary data of an inline image, after its
// ID operator, to just after the EI that ends it.
func (l *lexer) skipInlineImage() {
	for i := l.pos; i+2 <= len(l.b); i++ {
		if l.b[i] == 'E' && l.b[i+1] == 'I' && (i == 0 || isPDFSpace(l.b[i-1])) &&
			(i+2 == len(l.b) || isPDFSpace(l.b[i+2])) {
			l.pos = i + 2
			return
		}
	}
	l.pos = len(l.b)
}

// unescapeName decodes the #xx escapes of a name.
func unescapeName(n []byte) []byte {
	if bytes.IndexByte(n, '#') < 0 {
		return n
	}
	out := make([]byte, 0, len(n))
	for i := 0; i < len(n); i++ {
		if n[i] == '#' && i+2 < len(n) {
			if v, err := strconv.ParseUint(string(n[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, n[i])
	}
	return out
}
