package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on the registry's text fields, in characters. The import refuses
// a longer value rather than load a compte that can never be rendered
// (SPEC section 10): the attestation, its file name and the replies all
// print these fields.
const (
	maxCompteID   = 64  // letters, digits and "._-"
	maxOrgCode    = 16  // letters, digits and "._-"
	maxEmail      = 254 // bytes: the longest path RFC 5321 allows (section 4.5.3.1.3)
	maxNIR        = 32  // 15 characters, with room for spaces between groups
	maxName       = 80  // nom_famille, nom_usage, prenom
	maxLibelle    = 120 // an organisme's name
	maxLine       = 80  // one line of a postal address
	maxLines      = 6   // lines of a postal address, before the code postal and commune
	maxCodePostal = 10
	maxCommune    = 60
	maxMotif      = 80 // an exonération's motif: stored, never printed
)

// The rules a text field follows. Each problem names the rule, never the
// value: a refused name or address is personal data, and a value may hold
// characters that would play tricks on the operator's terminal.
const (
	ruleID   = "letters, digits, '.', '_' and '-' only"
	ruleName = "letters (accented or not), space, hyphen and apostrophe only"
	ruleText = "letters, digits, spaces and common punctuation only (no control, layout or bidirectional characters, no other script)"
	ruleCode = "letters, digits, space and hyphen only"
)

// latinLetter reports whether r is a letter of the Latin script: A to Z,
// with or without accents, and the letters of other Latin alphabets (ß, Œ,
// Ł, ễ…). The attestation's font draws them, or draws their base letter.
func latinLetter(r rune) bool {
	return unicode.IsLetter(r) && unicode.Is(unicode.Latin, r)
}

// nameRune reports whether r may be in a person's name.
func nameRune(r rune) bool {
	return latinLetter(r) || r == ' ' || r == '-' || r == '\'' || r == '’'
}

// textRune reports whether r may be in free text: an address line, a
// commune, an organisme's name, a motif.
func textRune(r rune) bool {
	switch {
	case latinLetter(r), r >= '0' && r <= '9':
		return true
	case r >= 0x20 && r <= 0x7e: // ASCII punctuation and symbols
		return true
	case r >= 0xa0 && r <= 0xbf, r == '×', r == '÷': // Latin-1's: « » ° § …
		return true
	}
	return strings.ContainsRune("‘’‚“”„–—…€\u202f", r)
}

func idRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

func codeRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '-')
}

// checkText returns the problem with s under a rule (allowed runes and a
// maximum length in characters), or "" when s follows it. The problem says
// where the first refused character is, not what it is.
func checkText(s string, maxLen int, allowed func(rune) bool, rule string) string {
	if n := utf8.RuneCountInString(s); n > maxLen {
		return fmt.Sprintf("too long: %d characters, at most %d", n, maxLen)
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	i := 0
	for _, r := range s {
		i++
		if allowed(r) {
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			return fmt.Sprintf("a combining accent at character %d: write each accented letter as one character (Unicode NFC); %s", i, rule)
		}
		return fmt.Sprintf("character %d is not allowed: %s", i, rule)
	}
	return ""
}

// checkName is checkText for a person's name, which must also hold a letter.
func checkName(s string) string {
	if p := checkText(s, maxName, nameRune, ruleName); p != "" {
		return p
	}
	if strings.IndexFunc(s, latinLetter) < 0 {
		return "holds no letter: " + ruleName
	}
	return ""
}

// validCompteID reports whether id may name a compte in a message: an
// invalid id is never printed, the compte is then named by its index.
func validCompteID(id string) bool {
	return id != "" && len(id) <= maxCompteID && strings.IndexFunc(id, func(r rune) bool { return !idRune(r) }) < 0
}

// safeField is a JSON key as a problem may print it: an unknown key that is
// not a plain field name (letters, digits, '_', at most 40) is not quoted.
func safeField(key string) (string, bool) {
	if key == "" || len(key) > 40 || strings.IndexFunc(key, func(r rune) bool { return !idRune(r) || r == '.' }) >= 0 {
		return "(a field whose name is not letters, digits and '_')", false
	}
	return key, true
}
