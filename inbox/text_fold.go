package inbox

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold lower-cases s and removes its accents, so that "Écrit", "ecrit" and
// "ÉCRIT" compare equal. Typographic apostrophes become "'", ligatures are
// spelled out ("œ" → "oe"), no-break spaces become spaces. Other characters
// are kept, one rune for one rune where possible. The history splitter
// matches its markers on folded lines, and package request its words.
func Fold(s string) string {
	ascii, lower := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		ascii = ascii && c < 0x80
		lower = lower && (c < 'A' || c > 'Z')
	}
	if ascii {
		if lower {
			return s
		}
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		b.WriteString(foldRune(r))
	}
	return b.String()
}

// foldRune folds one rune of an NFD string; combining marks vanish.
func foldRune(r rune) string {
	switch {
	case r < 0x80:
		if r >= 'A' && r <= 'Z' {
			return string(r + 'a' - 'A')
		}
		return string(r)
	case unicode.Is(unicode.Mn, r):
		return ""
	}
	switch r {
	case '’', '‘', '`', 'ʼ', '´', '′':
		return "'"
	case 'œ', 'Œ':
		return "oe"
	case 'æ', 'Æ':
		return "ae"
	case 'ß':
		return "ss"
	case '\u00a0', '\u202f', '\u2007', '\u2009', '\u200a':
		return " "
	case '–', '—', '‐', '‑':
		return "-"
	case '«', '»', '“', '”', '„':
		return "\""
	}
	return string(unicode.ToLower(r))
}
