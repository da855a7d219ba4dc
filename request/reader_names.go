package request

import "strings"

// nameAt reads a first name at toks[i]: a known name, or a word that is no
// common word (with a capital when needCap), joined with the next ones by
// hyphens ("Jean-Pierre"). A family name written after it is skipped.
func (s *targetScan) nameAt(i int, needCap bool) (string, int) {
	if name, n := s.known.match(s.toks, i); n > 0 && !s.isUsed(i) {
		return name, n
	}
	t := s.tok(i)
	if !isNameWord(t) || needCap && !t.cap {
		return "", 0
	}
	if !t.cap {
		// Without a capital, only where a name obviously ends: "mon fils
		// adam.", "ma fille lea et …".
		if n := s.tok(i + 1); !(n.kind == tPunct || n.kind == tDate || n.isWord("et", "svp", "stp", "merci", "ne", "nee", "qui")) {
			return "", 0
		}
	}
	parts := []string{t.orig}
	n := 1
	for n < maxNameParts && isNameWord(s.tok(i+n)) && s.tok(i+n).hyph() {
		parts = append(parts, s.tok(i+n).orig)
		n++
	}
	// "Léa Peigne": the family name after a capitalised first name.
	if nx := s.tok(i + n); t.cap && isNameWord(nx) && nx.cap && nx.sep == " " {
		if _, kn := s.known.match(s.toks, i+n); kn == 0 {
			n++
			for k := 1; k < maxNameParts && isNameWord(s.tok(i+n)) && s.tok(i+n).hyph(); k++ {
				n++
			}
		}
	}
	return strings.Join(parts, "-"), n
}

// maxNameParts bounds the hyphenated parts of one name ("Marie-Ange",
// "Jean-Marc-Antoine"), so that a long chain of words costs linear time.
const maxNameParts = 4

// isNameWord reports whether t could be a name: letters only, two or more,
// no common word.
func isNameWord(t token) bool {
	if t.kind != tWord || len(t.f) < 2 || notNames.has(t.f) {
		return false
	}
	if _, month := monthNames[t.f]; month {
		return false
	}
	vowel := false
	for _, r := range t.f {
		switch {
		case r >= '0' && r <= '9':
			return false
		case strings.ContainsRune("aeiouy", r):
			vowel = true
		}
	}
	return vowel // "MDPH", "CCAS"… are acronyms
}
