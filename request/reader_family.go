package request

import "github.com/cpam/attestd/rules"

// designation is what a relation phrase designates: "ma fille aînée", "les
// jumeaux", "le plus jeune de mes enfants", "ma belle-mère".
type designation struct {
	relationWord
	rank rules.Rank
}

// designationAt reads a relation phrase at toks[i] (SPEC section 3): a
// possessive or an article, qualifiers, a relation noun, qualifiers after
// it. A rank may stand for the noun ("l'aînée", "mon cadet"). It returns
// the index just past the phrase, or i when there is none.
func (s *targetScan) designationAt(i int) (designation, int) {
	t := s.tok(i)
	possessive := t.kind == tWord && possessives.has(t.f)
	if !possessive && (t.kind != tWord || !articles.has(t.f)) {
		return designation{}, i
	}
	fem := t.isWord("ma", "la")
	var d designation
	other := false
	j := i + 1
	for k := 0; k < 3; k++ {
		if r, f, n := s.rankAt(j, possessive); n > 0 {
			d.rank, fem, j = r, fem || f, j+n
			continue
		}
		w := s.tok(j)
		if w.kind != tWord || !relationQualifiers.has(w.f) {
			break
		}
		if _, noun := relationOf(w.f); noun {
			if _, next := relationOf(s.tok(j + 1).f); !next {
				break // "les petits", "mes jumeaux": the noun itself
			}
		}
		other = other || notFamily.has(w.f) ||
			w.isWord("petit", "petite", "petits", "petites") && s.tok(j+1).isWord("fils", "fille", "filles", "enfant", "enfants")
		j++
	}
	noun, ok := relationOf(s.tok(j).f)
	switch {
	case ok && s.tok(j).kind == tWord && (possessive || noun.article) && (!noun.adjective || s.standsAlone(j+1)):
		d.relationWord = noun
		j++
	case d.rank != rules.RankNone && !t.isWord("mes", "nos", "les", "des", "aux") && s.standsAlone(j):
		d.rel = rules.RelationChild
		if fem {
			d.rel = rules.RelationDaughter
		}
		j += s.rankGroup(j, &d)
	default:
		return designation{}, i
	}
	for k := 0; k < 2; k++ {
		if r, _, n := s.rankAt(j, false); n > 0 && !d.plural {
			d.rank, j = r, j+n
			continue
		}
		w := s.tok(j)
		if w.isWord("le", "la") {
			if r, _, n := s.rankAt(j+1, false); n > 0 && !d.plural {
				d.rank, j = r, j+1+n
				continue
			}
		}
		if w.kind != tWord || !relationQualifiers.has(w.f) {
			break
		}
		if twinWords.has(w.f) && d.plural && d.rel != rules.RelationOther {
			d.rel = rules.RelationTwins
		}
		j++
	}
	if other || d.rel == rules.RelationOther {
		d.rel, d.rank = rules.RelationOther, rules.RankNone
	}
	if d.rel == rules.RelationSpouse || d.plural {
		d.rank = rules.RankNone
	}
	return d, j
}

// rankAt reads a rank at toks[i]: "aîné(e)", "cadet(te)", "benjamin(e)",
// "plus jeune", "plus âgé(e)", "plus grand(e)", "petit(e) dernier(e)", and
// after a possessive "dernier(e)", "premier(e)". It returns the rank,
// whether the words are feminine, and how many tokens they take.
func (s *targetScan) rankAt(i int, possessive bool) (rules.Rank, bool, int) {
	t := s.tok(i)
	if t.kind != tWord {
		return rules.RankNone, false, 0
	}
	switch t.f {
	case "aine", "ainee":
		return rules.RankEldest, t.f == "ainee", 1
	case "cadet", "cadette":
		return rules.RankCadet, t.f == "cadette", 1
	case "benjamin", "benjamine":
		if !t.cap { // "Benjamin" is a first name
			return rules.RankYoungest, t.f == "benjamine", 1
		}
	case "dernier", "derniere", "premier", "premiere":
		if possessive {
			r := rules.RankYoungest
			if t.f[0] == 'p' {
				r = rules.RankEldest
			}
			return r, t.f[len(t.f)-1] == 'e', 1
		}
	case "petit", "petite":
		if n := s.tok(i + 1); n.isWord("dernier", "derniere") {
			return rules.RankYoungest, n.f == "derniere", 2
		}
	case "plus":
		switch n := s.tok(i + 1); {
		case n.isWord("jeune"):
			return rules.RankYoungest, false, 2
		case n.isWord("age", "grand", "vieux"):
			return rules.RankEldest, false, 2
		case n.isWord("agee", "grande", "vieille"):
			return rules.RankEldest, true, 2
		}
	}
	return rules.RankNone, false, 0
}

// rankGroup reads what may follow a rank standing for its noun: "de mes
// enfants", "des filles", and sets d's relation from it. It returns how
// many tokens it took.
func (s *targetScan) rankGroup(j int, d *designation) int {
	if !s.tok(j).isWord("de", "des", "d", "du") {
		return 0
	}
	k := j + 1
	if s.tok(k).isWord("mes", "nos", "les", "ses") {
		k++
	}
	noun, ok := relationOf(s.tok(k).f)
	if !ok || s.tok(k).kind != tWord || !noun.plural || noun.rel == rules.RelationOther {
		return 0
	}
	switch noun.rel {
	case rules.RelationDaughter, rules.RelationSon:
		d.rel = noun.rel
	default:
		d.rel = rules.RelationChild
	}
	return k + 1 - j
}

// standsAlone reports whether toks[i] ends a noun phrase: punctuation, a
// date, a NIR, a first name, or a word that does not qualify a noun ("et",
// "de", "né", "svp").
func (s *targetScan) standsAlone(i int) bool {
	t := s.tok(i)
	if t.kind != tWord {
		return true
	}
	return t.cap && isNameWord(t) || t.isWord("et", "ou", "de", "des", "d", "du", "ne", "nee", "qui", "svp", "stp", "merci",
		"aussi", "seulement", "uniquement", "avec", "sans", "pour", "ainsi", "a", "s", "car", "mais", "sont", "est")
}
