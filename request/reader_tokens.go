package request

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cpam/attestd/rules"
)

// tokKind tells words from the other tokens of a text.
type tokKind uint8

const (
	tWord  tokKind = iota // letters and digits: "attestation", "2015", "c2s"
	tPunct                // one of . , : ; ( ) % ? ! and "\n" for a line end
	tDate                 // a calendar date, merged from its parts
	tNIR                  // a NIR-looking sequence, merged from its groups
)

// token is one unit of a request's text.
type token struct {
	kind  tokKind
	f     string // folded: lower case, no accents; "." for . ! ? ;
	orig  string // as written
	sep   string // the characters between the previous token and this one
	cap   bool   // written with a capital first letter
	upper bool   // written all in capitals (two letters or more)
	date  rules.Date
	nir   FoundNIR
}

// hyph reports whether t is joined to the previous word by a hyphen, as in
// "Marie-Ange" or "envoyez-moi".
func (t token) hyph() bool { return t.sep == "-" }

func (t token) isWord(words ...string) bool {
	if t.kind != tWord {
		return false
	}
	for _, w := range words {
		if t.f == w {
			return true
		}
	}
	return false
}

func (t token) isPunct(p ...string) bool {
	if t.kind != tPunct {
		return false
	}
	for _, w := range p {
		if t.f == w {
			return true
		}
	}
	return false
}

// lineEnd reports whether t ends a line (a blank line ends a sentence too).
func (t token) lineEnd() bool { return t.kind == tPunct && (t.f == "\n" || t.orig == "\n\n") }

// sentenceEnd reports whether t ends a sentence: . ! ? ; or a blank line.
func (t token) sentenceEnd() bool { return t.kind == tPunct && t.f == "." }

// maxReadBytes bounds the text Read looks at. ParseMessage already keeps
// MaxTextBytes per part; this bound holds for any caller.
const maxReadBytes = 256 << 10

// tokenize splits text into tokens, then merges NIRs and dates (today
// places two-digit years, see ReadOptions).
func tokenize(text string, today rules.Date) []token {
	if len(text) > maxReadBytes {
		text = strings.ToValidUTF8(text[:maxReadBytes], "")
	}
	return mergeNumbers(scan(text), today)
}

// scan is the first pass of tokenize: words and punctuation.
func scan(text string) []token {
	toks := make([]token, 0, len(text)/6+4)
	var sep strings.Builder
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if isWordRune(r) {
			j := i
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !isWordRune(r2) && !unicode.Is(unicode.Mn, r2) {
					break
				}
				j += s2
			}
			toks = append(toks, newWord(text[i:j], sep.String()))
			sep.Reset()
			i = j
			continue
		}
		i += size
		if r == '&' || r == '+' {
			toks = append(toks, token{kind: tWord, f: "et", orig: string(r), sep: sep.String()})
			sep.Reset()
			continue
		}
		if p, ok := punctOf(r, text, i-size, i); ok {
			if p == "\n" {
				// A blank line ends a sentence.
				if n := len(toks); n > 0 && toks[n-1].isPunct("\n") {
					toks[n-1].f = "."
					toks[n-1].orig = "\n\n"
					continue
				}
			}
			toks = append(toks, token{kind: tPunct, f: p, orig: string(r), sep: sep.String()})
			sep.Reset()
			continue
		}
		if sep.Len() < 8 {
			sep.WriteRune(r)
		}
	}
	return toks
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// punctOf returns the punctuation token of the rune at text[start:end], if
// it is one. Dots, slashes and dashes between two digits are separators of
// a date or a NIR, not punctuation.
func punctOf(r rune, text string, start, end int) (string, bool) {
	switch r {
	case '.', '/', '-':
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if unicode.IsDigit(before) && unicode.IsDigit(after) {
			return "", false
		}
		switch r {
		case '.':
			if text[end:] != "" && strings.HasPrefix(text[end:], "..") {
				return "", false // the first dots of an ellipsis
			}
			return ".", true
		case '/':
			return ",", true // "Léa/Lucas"
		}
		return "", false // a hyphen: kept in sep
	case '!', '?', ';', '…':
		return ".", true
	case ',', ':', '(', ')', '%':
		return string(r), true
	case '\n':
		return "\n", true
	}
	return "", false
}

func newWord(w, sep string) token {
	t := token{kind: tWord, f: fold(w), orig: w, sep: sep}
	first, _ := utf8.DecodeRuneInString(w)
	t.cap = unicode.IsUpper(first)
	letters, uppers := 0, 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				uppers++
			}
		}
	}
	t.upper = letters >= 2 && uppers == letters
	return t
}

// mergeNumbers replaces the groups of a NIR, and the parts of a date, by one
// token each.
func mergeNumbers(toks []token, today rules.Date) []token {
	out := make([]token, 0, len(toks))
	for i := 0; i < len(toks); {
		if t, n := nirAt(toks, i); n > 0 {
			out = append(out, t)
			i += n
			continue
		}
		if t, n := dateAt(toks, i, today); n > 0 {
			out = append(out, t)
			i += n
			continue
		}
		out = append(out, toks[i])
		i++
	}
	return out
}

// nirAt reads a NIR starting at toks[i]: 13 or 15 significant characters in
// groups separated by single spaces, dots or dashes ("2 93 08 2A 004 012
// 64", "185066912308738"). It returns the merged token and how many tokens
// it took.
func nirAt(toks []token, i int) (token, int) {
	first := toks[i]
	if first.kind != tWord || first.f == "" || !strings.ContainsRune("12345678", rune(first.f[0])) {
		return token{}, 0
	}
	var acc strings.Builder
	j := i
	for ; j < len(toks); j++ {
		t := toks[j]
		if t.kind != tWord || !nirChars(t.f) || acc.Len()+len(t.f) > 15 {
			break
		}
		if j > i && !nirSep(t.sep) {
			break
		}
		acc.WriteString(strings.ToUpper(t.f))
		if acc.Len() == 15 {
			j++
			break
		}
	}
	n := acc.String()
	if len(n) != 13 && len(n) != 15 || !nirShape(n) {
		return token{}, 0
	}
	// A longer number (an IBAN, a reference) is not a NIR.
	if j < len(toks) && toks[j].kind == tWord && toks[j].sep == "" {
		return token{}, 0
	}
	found := FoundNIR{Normalized: n}
	if len(n) == 15 {
		_, err := rules.CheckNIR(n)
		found.Valid = err == nil
	}
	return token{kind: tNIR, f: strings.ToLower(n), orig: n, sep: first.sep, nir: found}, j - i
}

func nirChars(f string) bool {
	for i := 0; i < len(f); i++ {
		if (f[i] < '0' || f[i] > '9') && f[i] != 'a' && f[i] != 'b' {
			return false
		}
	}
	return f != ""
}

func nirSep(sep string) bool {
	switch sep {
	case " ", ".", "-", "\u00a0", "\u202f", "\t":
		return true
	}
	return false
}

// nirShape checks the shape of a NIR: digits, with 2A or 2B allowed only as
// the department (characters 6 and 7).
func nirShape(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if i == 6 && (c == 'A' || c == 'B') && n[5] == '2' {
			continue
		}
		return false
	}
	return true
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 9; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
