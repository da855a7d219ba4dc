package request

import (
	"strings"

	"github.com/cpam/attestd/rules"
)

// authorScan reads what the author says about himself, and marks the tokens
// it took in used so that they are not read as beneficiaries.
type authorScan struct {
	toks  []token
	used  []bool
	known knownNames
	a     Author
}

// readAuthor reads the author's self-description ("Je suis Thomas
// Rousseau, né le 30/04/1981", "je m'appelle…", "ma date de naissance
// est…", "mon numéro de sécurité sociale…") and his signature ("Eva
// Dupont" as the last line, "Cordialement, Benoît Peigne", "… merci.
// Marie-Ange").
func readAuthor(toks []token, used []bool, known knownNames) Author {
	s := &authorScan{toks: toks, used: used, known: known}
	for i := 0; i < len(toks); i++ {
		if n := s.selfDescription(i); n > 0 {
			i += n - 1
			continue
		}
		s.ownBirth(i)
		s.ownNIR(i)
	}
	s.signature()
	return s.a
}

func (s *authorScan) mark(from, to int) {
	for k := max(from, 0); k < to && k < len(s.used); k++ {
		s.used[k] = true
	}
}

// selfDescription reads "je suis [Madame] Prénom Nom[, né(e) le DATE]",
// "je m'appelle …", "mon nom est …", "je soussigné(e) …", "moi, c'est …".
func (s *authorScan) selfDescription(i int) int {
	t := at(s.toks, i)
	var n int
	switch {
	case t.isWord("je") && at(s.toks, i+1).isWord("suis", "soussigne", "soussignee"):
		n = 2
	case t.isWord("je") && at(s.toks, i+1).isWord("m") && at(s.toks, i+2).isWord("appelle"):
		n = 3
	case t.isWord("mon") && at(s.toks, i+1).isWord("nom", "prenom") && at(s.toks, i+2).isWord("est"):
		n = 3
	case t.isWord("moi") && at(s.toks, i+1).isPunct(",") && at(s.toks, i+2).isWord("c") && at(s.toks, i+3).isWord("est"):
		n = 4
	default:
		return 0
	}
	j := i + n
	for k := 0; k < 2 && (at(s.toks, j).isPunct(",", ":") || at(s.toks, j).kind == tWord && titles.has(at(s.toks, j).f)); k++ {
		j++
	}
	names, nn := s.names(j, 4)
	if nn == 0 {
		return 0
	}
	s.a.FirstNames = appendNames(s.a.FirstNames, names)
	end := j + nn
	if d, dn := s.birthAfter(end); dn > 0 {
		s.a.Birth = d
		end += dn
	}
	s.mark(i, end)
	return end - i
}

// ownBirth reads "je suis né(e) le DATE", "ma date de naissance est DATE".
func (s *authorScan) ownBirth(i int) {
	t := at(s.toks, i)
	var j int
	switch {
	case t.isWord("je") && at(s.toks, i+1).isWord("suis") && at(s.toks, i+2).isWord("ne", "nee"):
		j = i + 2
	case t.isWord("ma") && at(s.toks, i+1).isWord("date") && at(s.toks, i+2).isWord("de") &&
		at(s.toks, i+3).isWord("naissance"):
		j = i + 4
		if at(s.toks, j).isWord("est") {
			j++
		}
	default:
		return
	}
	if d, n := s.birthAfter(j); n > 0 {
		s.a.Birth = d
		s.mark(i, j+n)
	}
}

// ownNIR reads the author's own NIR: "mon numéro de sécurité sociale est
// …", "mon NIR : …".
func (s *authorScan) ownNIR(i int) {
	t := at(s.toks, i)
	if t.kind != tNIR || s.a.NIR != "" {
		return
	}
	own, what := false, false
	for k := i - 1; k >= 0 && k >= i-8; k-- {
		p := s.toks[k]
		if p.sentenceEnd() {
			break
		}
		own = own || p.isWord("mon", "ma", "je", "moi")
		what = what || p.isWord("numero", "nir", "secu", "securite", "ss", "immatriculation", "insee", "n", "no", "num")
	}
	if own && what {
		s.a.NIR = t.nir.Normalized
	}
}

// birthAfter reads ", né(e) le DATE" (or a bare date) right after a name.
func (s *authorScan) birthAfter(i int) (rules.Date, int) {
	j := i
	for k := 0; k < 5; k++ {
		t := at(s.toks, j)
		switch {
		case t.kind == tDate:
			return t.date, j + 1 - i
		case t.isPunct(",", "(", ":"), t.isWord("ne", "nee", "le", "en", "et", "est"):
			j++
		default:
			return rules.Date{}, 0
		}
	}
	return rules.Date{}, 0
}

// names reads up to max name words (with a capital, or known) at toks[i],
// hyphenated parts joined: "Marie-Ange Casanova" → MARIE-ANGE, CASANOVA.
func (s *authorScan) names(i, max int) ([]string, int) {
	var out []string
	j := i
	for len(out) < max {
		t := at(s.toks, j)
		_, kn := s.known.match(s.toks, j)
		if !isNameWord(t) || !t.cap && kn == 0 {
			break
		}
		parts := []string{t.orig}
		j++
		for len(parts) < maxNameParts && isNameWord(at(s.toks, j)) && at(s.toks, j).hyph() {
			parts = append(parts, at(s.toks, j).orig)
			j++
		}
		out = append(out, strings.ToUpper(strings.Join(parts, "-")))
	}
	return out, j - i
}

// signature reads the author's name at the end of the text: the last line
// when it holds only a name ("Eva Dupont", "Cordialement, Benoît Peigne",
// "Famille Rousseau"), or the last sentence of the last line when it is
// only a name ("… avec l'exonération. Marie-Ange").
func (s *authorScan) signature() {
	lines := s.lines()
	// A phone number under the name is not part of it.
	for len(lines) > 0 && !lines[len(lines)-1].hasLetters(s.toks) {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return
	}
	last := lines[len(lines)-1]
	if s.signatureIn(last.from, lastWord(s.toks, last), len(lines) > 1) {
		return
	}
	// The last sentence of the last line: "… avec l'exonération. Marie-Ange".
	end := lastWord(s.toks, last)
	k := end - 1
	for k >= last.from && !s.toks[k].sentenceEnd() {
		k--
	}
	if k >= last.from {
		s.signatureIn(k+1, end, true)
	}
}

// signatureIn reads toks[from:end] as a signature: closing words ("Bien
// cordialement,"), an optional "Famille", then only names. Without a
// closing word, alone is false when the span is the whole text. It reports
// whether it read one.
func (s *authorScan) signatureIn(from, end int, notAlone bool) bool {
	start := from
	closing := false
	for start < end && (isClosingWord(s.toks[start]) || s.toks[start].kind == tPunct) {
		closing = closing || s.toks[start].kind == tWord && closings.has(s.toks[start].f)
		start++
	}
	if at(s.toks, start).isWord("famille") {
		start++
	}
	names, n := s.names(start, 4)
	if n == 0 || start+n != end || !notAlone && !closing {
		return false
	}
	s.a.FirstNames = appendNames(s.a.FirstNames, names)
	s.mark(from, end)
	return true
}

// span is a line of tokens, toks[from:to], line ends excluded.
type span struct{ from, to int }

func (sp span) hasLetters(toks []token) bool {
	for k := sp.from; k < sp.to; k++ {
		if toks[k].kind == tWord && !isDigits(toks[k].f, 1, 20) {
			return true
		}
	}
	return false
}

// lines splits the tokens into lines that hold at least one word.
func (s *authorScan) lines() []span {
	var out []span
	from := 0
	for k := 0; k <= len(s.toks); k++ {
		if k < len(s.toks) && !s.toks[k].lineEnd() {
			continue
		}
		sp := span{from, k}
		for q := from; q < k; q++ {
			if s.toks[q].kind != tPunct {
				out = append(out, sp)
				break
			}
		}
		from = k + 1
	}
	return out
}

// lastWord returns the index just past the last non-punctuation token of sp.
func lastWord(toks []token, sp span) int {
	k := sp.to
	for k > sp.from && toks[k-1].kind == tPunct {
		k--
	}
	return k
}

// isClosingWord reports whether t belongs to a closing formula: "Bien
// cordialement", "Merci d'avance", "Bonne journée", "Bien à vous".
func isClosingWord(t token) bool {
	return t.kind == tWord && (closings.has(t.f) || t.isWord("bien", "a", "vous", "bonne", "journee", "soiree",
		"d", "avance", "beaucoup", "encore", "mes", "meilleures", "sinceres", "respectueuses", "vos", "tres",
		"par", "bientot", "belle", "votre", "aide"))
}

func appendNames(list, names []string) []string {
	for _, n := range names {
		dup := false
		for _, m := range list {
			if rules.FoldName(m) == rules.FoldName(n) {
				dup = true
			}
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}
