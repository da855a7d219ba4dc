package request

import "strings"

// intent is what kind of document a text asks for.
type intent struct {
	add   bool // the attestation de droits, named ("attestation de droits")
	bare  bool // an attestation, kind unnamed ("mon attestation")
	other bool // another document ("attestation de paiement", "CEAM")
}

func (i intent) any() bool { return i.add || i.bare || i.other }

// readIntent finds the documents a text asks for. Each "attestation" (or
// "justificatif", "certificat" with a qualifier) is classified by the word
// that follows it, past "de", "d'", "la"...: "droits", "assurance",
// "sécurité"... name the attestation de droits; "paiement", "salaire",
// "fiscale"... another document; a possessive, a name, a purpose or nothing
// leave it unnamed. An unknown noun after "de" ("attestation de
// scolarité") is another document: the agents read it.
func readIntent(toks []token) intent {
	var in intent
	for i, t := range toks {
		if t.kind != tWord {
			continue
		}
		switch {
		case isAttestationWord(t.f):
			switch qualify(toks, i+1) {
			case qualAdd:
				in.add = true
			case qualOther:
				in.other = true
			default:
				in.bare = true
			}
		case t.isWord("justificatif", "justificatifs", "certificat", "preuve", "attestations"):
			if qualify(toks, i+1) == qualAdd {
				in.add = true
			}
		case t.f == "ceam":
			in.other = true
		case t.f == "carte" && at(toks, i+1).isWord("europeenne"):
			in.other = true
		case t.isWord("releve", "releves", "decompte", "decomptes") && statementOf(toks, i+1):
			in.other = true
		}
	}
	return in
}

// isAttestationWord recognises "attestation" and its usual typos
// ("attestaion", "atestation", "attesation").
func isAttestationWord(f string) bool {
	switch f {
	case "attestation", "attestations":
		return true
	}
	if len(f) < 9 || len(f) > 13 || f[0] != 'a' {
		return false
	}
	return editDistance(strings.TrimSuffix(f, "s"), "attestation", 2) <= 2
}

// statementOf reports whether the words after "relevé" name a statement of
// payments: "relevé de remboursements", "relevé des prestations".
func statementOf(toks []token, i int) bool {
	for k := i; k < len(toks) && k < i+3; k++ {
		switch {
		case toks[k].isWord("de", "des", "d", "du", "mes", "mon", "ma", "la", "les"):
		case toks[k].isWord("remboursement", "remboursements", "prestations", "prestation", "paiement",
			"paiements", "indemnites", "ij", "soins", "versements", "compte"):
			return true
		default:
			return false
		}
	}
	return false
}

type qualifier uint8

const (
	qualBare qualifier = iota
	qualAdd
	qualOther
)

// qualify classifies the words after an attestation word at toks[i].
func qualify(toks []token, i int) qualifier {
	prep := false
	for k := i; k < len(toks) && k < i+6; k++ {
		t := toks[k]
		if t.kind != tWord {
			return qualBare
		}
		f := t.f
		switch {
		case t.isWord("de", "d", "des", "du", "a", "au", "aux", "en", "sur"):
			prep = true
			continue
		case isPossessive(f):
			// "attestation de mes droits" names it; a possessive followed
			// by anything else is a beneficiary ("de ma fille").
			if isADDWord(at(toks, k+1)) {
				return qualAdd
			}
			return qualBare
		case t.isWord("la", "l", "le", "les", "propre", "nouvelle", "nouvel", "nouveau", "derniere", "dernier",
			"une", "un", "carte"):
			continue // "attestation de la CMU", "attestation carte Vitale"
		case isADDWord(t):
			return qualAdd
		case f == "100":
			return qualAdd // "attestation 100 %"
		case otherDocWords.has(f):
			return qualOther
		case prep && t.cap && !notNames.has(f):
			return qualBare // "attestation de Léa"
		case prep && !notNames.has(f) && !isDigits(f, 1, 9):
			return qualOther // "attestation de scolarité"
		}
		return qualBare
	}
	return qualBare
}

// isADDWord reports whether t names the attestation de droits after
// "attestation": "droits" (and its typos), "assurance", "sécurité"...
func isADDWord(t token) bool {
	if t.kind != tWord {
		return false
	}
	return addWords.has(t.f) || strings.HasPrefix(t.f, "droit") ||
		strings.HasPrefix(t.f, "dr") && editDistance(t.f, "droits", 2) <= 2
}

func isPossessive(f string) bool {
	switch f {
	case "mes", "mon", "ma", "nos", "notre", "sa", "son", "ses", "leur", "leurs", "votre", "vos":
		return true
	}
	return false
}

// mentions are the complementary mentions a text asks for.
type mentions struct{ etm, c2s bool }

func (m mentions) any() bool { return m.etm || m.c2s }

// readMentions finds the mentions asked (SPEC section 3): ETM for the
// exonération du ticket modérateur, "ALD", "100 %", "maternité",
// "invalidité"...; C2S for the CMU, CMU-C, C2S, complémentaire santé
// solidaire, and the ACS (merged into the C2S in 2019). A mention just
// after a negation ("sans la CMU", "pas besoin de l'exonération") is not
// asked.
func readMentions(toks []token) mentions {
	var m mentions
	for i, t := range toks {
		if t.kind != tWord {
			continue
		}
		etm, c2s := mentionAt(toks, i)
		if (etm || c2s) && negated(toks, i) {
			continue
		}
		m.etm = m.etm || etm
		m.c2s = m.c2s || c2s
	}
	return m
}

func mentionAt(toks []token, i int) (etm, c2s bool) {
	t := toks[i]
	switch t.f {
	case "exoneration", "exonerations", "exonere", "exoneree", "exo", "ald", "moderateur", "invalidite":
		return true, false
	case "ticket":
		return at(toks, i+1).isWord("moderateur"), false
	case "affection", "affections":
		return at(toks, i+1).isWord("longue"), false
	case "maternite":
		// "assurance maladie-maternité" is the old name of the insurance.
		p := at(toks, i-1)
		return !p.isWord("maladie") && !(p.isWord("et") && at(toks, i-2).isWord("maladie")), false
	case "100":
		n := at(toks, i+1)
		if n.isPunct("%") || n.isWord("pour", "pourcent", "pct") {
			return true, false
		}
		return at(toks, i-1).isWord("a") && at(toks, i-2).isWord("charge", "rembourse", "remboursee", "pris", "prise"), false
	case "cmu", "cmuc", "c2s", "acs", "css":
		if t.f == "css" && !t.upper {
			return false, false
		}
		return false, true
	case "complementaire":
		n := at(toks, i+1)
		return false, n.isWord("solidaire") || n.isWord("sante") && at(toks, i+2).isWord("solidaire")
	}
	return false, false
}

// negated reports whether a negation sits among the four words before
// toks[i], in the same clause.
func negated(toks []token, i int) bool {
	for k := i - 1; k >= 0 && k >= i-4; k-- {
		t := toks[k]
		if t.kind == tPunct && t.f != "(" && t.f != ")" {
			return false
		}
		if t.kind == tWord && negations.has(t.f) {
			return true
		}
	}
	return false
}

// at returns toks[i], or a zero token out of range.
func at(toks []token, i int) token {
	if i < 0 || i >= len(toks) {
		return token{kind: tPunct}
	}
	return toks[i]
}

// editDistance is the Levenshtein distance of a and b, or max+1 as soon as
// it is known to exceed max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
