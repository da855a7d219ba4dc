package request

import "github.com/cpam/attestd/rules"

// targets is what a text says about the beneficiaries asked.
type targets struct {
	list     []rules.Target
	family   bool
	self     bool // "moi", "à mon nom", "me concernant"
	weakSelf bool // "mon attestation": self only if others are asked "as well"
	also     bool // "et celle de…", "ainsi que": the author's own is asked too
}

func (t targets) asksSomething() bool { return len(t.list) > 0 || t.family || t.self }

// targetScan walks the tokens of one text once, left to right.
type targetScan struct {
	toks  []token
	used  []bool // tokens already read as the author's own description
	known knownNames
	out   targets
	// lastEnd is the index just past the last beneficiary read, for
	// enumerations ("Léa, Lucas et moi"); -1 before the first.
	lastEnd int
	// last is the index in out.list of the last beneficiary read (-1: none
	// or self), to which a later "né le …" belongs.
	last int
}

// scanTargets reads the beneficiaries a text asks for (SPEC section 3):
// the whole family ("toute la famille", "pour nous tous", "famille"),
// relations ("ma fille", "mon fils Adam", "mes enfants", "ma femme"),
// first names (known ones anywhere; others after "pour", "de", a relation,
// or in an enumeration, with a capital), dates of birth ("né le
// 19/06/2012", "LUCAS 02/03/2015"), and the author ("moi", "à mon nom").
// Words like "mon employeur" or "ma mutuelle" are no beneficiaries.
func scanTargets(toks []token, used []bool, known knownNames) targets {
	s := &targetScan{toks: toks, used: used, known: known, lastEnd: -1, last: -1}
	for i := 0; i < len(toks); {
		if s.isUsed(i) {
			i++
			continue
		}
		if n := s.step(i); n > 0 {
			i += n
			continue
		}
		i++
	}
	return s.out
}

// step tries every pattern at toks[i] and returns how many tokens the one
// that matched took, or 0.
func (s *targetScan) step(i int) int {
	if n := s.family(i); n > 0 {
		return n
	}
	if n := s.relation(i); n > 0 {
		return n
	}
	if n := s.selfAt(i); n > 0 {
		return n
	}
	if n := s.birthAt(i); n > 0 {
		return n
	}
	if n := s.knownAt(i); n > 0 {
		return n
	}
	if n := s.formField(i); n > 0 {
		return n
	}
	if n := s.contextName(i); n > 0 {
		return n
	}
	if n := s.nameWithDate(i); n > 0 {
		return n
	}
	s.alsoAt(i)
	return 0
}

func (s *targetScan) isUsed(i int) bool { return i >= 0 && i < len(s.used) && s.used[i] }

func (s *targetScan) tok(i int) token {
	if s.isUsed(i) {
		return token{kind: tPunct}
	}
	return at(s.toks, i)
}

// maxTargets bounds the beneficiaries read from one text: a compte has a
// handful; a text naming more is read no further.
const maxTargets = 30

// add records a beneficiary read from toks[start:end].
func (s *targetScan) add(t rules.Target, end int) {
	if len(s.out.list) >= maxTargets {
		s.lastEnd = end
		return
	}
	s.out.list = append(s.out.list, t)
	s.last = len(s.out.list) - 1
	s.lastEnd = end
}

// family reads "toute la famille", "toute ma famille", "famille", "pour
// nous tous", "tous les membres", "mes ayants droit".
func (s *targetScan) family(i int) int {
	t := s.tok(i)
	switch {
	case t.isWord("famille", "familles"):
		for k := i - 1; k >= 0 && k >= i-3; k-- {
			p := s.tok(k)
			if p.isWord("livret", "nom", "medecin", "situation", "chef", "allocations", "caisse", "quotient",
				"regroupement", "mere", "pere", "membre", "accueil", "soutien") {
				return 0
			}
			if !p.isWord("de", "d", "du", "la", "ma", "notre", "sa", "en") {
				break
			}
		}
		if s.tok(i+1).isWord("d") && s.tok(i+2).isWord("accueil") {
			return 0
		}
	case t.isWord("nous") && s.tok(i+1).isWord("tous", "toutes", "quatre", "trois", "cinq"):
		t = s.tok(i + 1)
		i++
	case t.isWord("tous", "toutes") && s.tok(i+1).isWord("les") &&
		s.tok(i+2).isWord("membres", "beneficiaires", "ayants", "ayant"):
		i += 2
	case t.isWord("ayants", "ayant") && s.tok(i+1).isWord("droit", "droits") &&
		s.tok(i-1).isWord("mes", "nos", "les", "tous", "mon"):
		i++
	default:
		return 0
	}
	s.out.family = true
	s.lastEnd = i + 1
	s.last = -1
	return 1
}

// relation reads "ma fille", "mon fils Adam", "mes enfants Léa et Lucas",
// "ma femme", "l'enfant né le 19/06/2012", "les jumeaux", "l'aînée", "ma
// mère" (see designationAt).
func (s *targetScan) relation(i int) int {
	d, j := s.designationAt(i)
	if j == i {
		return 0
	}
	// Names after the noun: "mon fils Adam", "mes enfants Léa et Lucas". A
	// name says who more precisely than a rank; a person the compte does
	// not hold as a relation ("ma nièce Chloé") is looked up by name.
	one := d.rel
	switch one {
	case rules.RelationChildren, rules.RelationTwins:
		one = rules.RelationChild
	case rules.RelationOther:
		one = rules.RelationNone
	}
	named := false
	k := s.skipIntro(j)
	for {
		name, n := s.nameAt(k, false)
		if n == 0 {
			break
		}
		end := k + n
		tg := rules.Target{FirstName: name, Relation: one}
		if dt, dn := s.birthAfter(end); dn > 0 {
			tg.Birth, end = dt, end+dn
		}
		s.add(tg, end)
		named, j = true, end
		if !d.plural {
			break
		}
		c := s.connector(end)
		if c == 0 {
			break
		}
		k = end + c
	}
	if named {
		return j - i
	}
	tg := rules.Target{Relation: d.rel, Rank: d.rank}
	if dt, dn := s.birthAfter(j); dn > 0 {
		tg.Birth, j = dt, j+dn
		if d.rel == rules.RelationChildren || d.rel == rules.RelationTwins {
			tg.Relation = rules.RelationChild
		}
	}
	s.add(tg, j)
	return j - i
}

// skipIntro skips what may sit between a relation and its first name: ",",
// ":", "(", "qui s'appelle", "prénommé".
func (s *targetScan) skipIntro(j int) int {
	for k := 0; k < 4; k++ {
		t := s.tok(j)
		if t.isPunct(",", ":", "(") || t.kind == tWord && nameIntro.has(t.f) {
			j++
			continue
		}
		break
	}
	return j
}

// connector returns how many tokens of an enumeration link sit at toks[i]:
// ",", "et", ", et", "ainsi que", "puis", "ou". 0: none.
func (s *targetScan) connector(i int) int {
	n := 0
	for n < 3 {
		t := s.tok(i + n)
		switch {
		case t.isPunct(",", ")"), t.isWord("et", "puis", "ou", "ainsi", "que", "plus"):
			n++
		case t.isWord("pour", "de", "d") && n > 0:
			n++ // "Léa et pour Lucas"
		default:
			return n
		}
	}
	return n
}

// selfAt reads the author as a beneficiary: "moi" (not "envoyez-moi" nor
// "chez moi"), "à mon nom", "me concernant"; and "mon attestation", which
// names the author only when someone else is asked too ("mon attestation
// et celle de ma fille").
func (s *targetScan) selfAt(i int) int {
	t := s.tok(i)
	switch {
	case t.isWord("moi") && !t.hyph() && !s.tok(i-1).isWord("chez", "envoyer", "transmettre", "adresser", "faire"):
		n := 1
		if s.tok(i + 1).isWord("meme") {
			n = 2
		}
		s.out.self = true
		s.last, s.lastEnd = -1, i+n
		return n
	case t.isWord("a", "en") && s.tok(i+1).isWord("mon") && s.tok(i+2).isWord("nom"):
		s.out.self = true
		s.last, s.lastEnd = -1, i+3
		return 3
	case t.isWord("me") && s.tok(i+1).isWord("concernant"):
		s.out.self = true
		s.last, s.lastEnd = -1, i+2
		return 2
	case t.isWord("mon", "ma") && (isAttestationWord(s.tok(i+1).f) ||
		s.tok(i+1).isWord("propre") && isAttestationWord(s.tok(i+2).f)):
		s.out.weakSelf = true
	case t.isWord("la") && s.tok(i+1).isWord("mienne"):
		s.out.weakSelf = true
	}
	return 0
}

// alsoAt notes "celle de": the author's own attestation plus someone
// else's ("mon attestation et celle de ma fille").
func (s *targetScan) alsoAt(i int) {
	t := s.tok(i)
	if t.isWord("celle", "celles") && s.tok(i+1).isWord("de", "d", "du", "des", "pour") {
		s.out.also = true
	}
}

// birthAt reads a date of birth on its own: "né le 19/06/2012", "date de
// naissance : 2-3-2015". It belongs to the beneficiary just named when
// that one has none, else it is a beneficiary of its own.
func (s *targetScan) birthAt(i int) int {
	d, n := s.birthAfter(i)
	if n == 0 || !s.tok(i).isWord("ne", "nee", "nes", "nees", "date", "naissance", "ddn") {
		return 0
	}
	if s.last >= 0 && s.out.list[s.last].Birth.IsZero() && s.sentencesBetween(s.lastEnd, i) <= 1 {
		s.out.list[s.last].Birth = d
		s.lastEnd = i + n
		return n
	}
	s.add(rules.Target{Birth: d}, i+n)
	return n
}

// birthAfter reads a date of birth at toks[i], with what may introduce it:
// "02/03/2015", ", né le 02/03/2015", "(19.06.2012)", "date de naissance :
// …". It returns the date and how many tokens it took.
func (s *targetScan) birthAfter(i int) (rules.Date, int) {
	j := i
	for k := 0; k < 7; k++ {
		t := s.tok(j)
		switch {
		case t.kind == tDate:
			return t.date, j + 1 - i
		case t.isPunct(",", "(", ":"), t.isWord("ne", "nee", "nes", "nees", "le", "en", "date", "de", "naissance",
			"ddn", "du", "a", "la"):
			j++
		default:
			return rules.Date{}, 0
		}
	}
	return rules.Date{}, 0
}

func (s *targetScan) sentencesBetween(from, to int) int {
	n := 0
	for k := max(from, 0); k < to && k < len(s.toks); k++ {
		if s.toks[k].sentenceEnd() {
			n++
		}
	}
	return n
}

// knownAt reads a known first name anywhere.
func (s *targetScan) knownAt(i int) int {
	if s.isUsed(i) {
		return 0
	}
	name, n := s.known.match(s.toks, i)
	if n == 0 {
		return 0
	}
	for k := i; k < i+n; k++ {
		if s.isUsed(k) {
			return 0
		}
	}
	tg := rules.Target{FirstName: name}
	end := i + n
	if d, dn := s.birthAfter(end); dn > 0 {
		tg.Birth, end = d, end+dn
	}
	s.add(tg, end)
	return end - i
}

// formField reads "Prénom : Lucas" (a request written as a form).
func (s *targetScan) formField(i int) int {
	t := s.tok(i)
	if !t.isWord("prenom", "prenoms") {
		return 0
	}
	j := i + 1
	for s.tok(j).isPunct(":") || s.tok(j).isWord("de", "du", "l", "enfant", "beneficiaire") {
		j++
	}
	name, n := s.nameAt(j, false)
	if n == 0 {
		return 0
	}
	s.add(rules.Target{FirstName: name}, j+n)
	return j + n - i
}

// contextName reads an unknown first name, with a capital, where the
// context says a beneficiary is named: after "pour", "concernant", after
// "de" following "attestation", "droits", "celle", "maman"..., and in an
// enumeration after another beneficiary.
func (s *targetScan) contextName(i int) int {
	p := s.tok(i - 1)
	ok := p.isWord("pour", "concernant", "pr")
	if p.isWord("de", "d") {
		pp := s.tok(i - 2)
		ok = isAttestationWord(pp.f) || pp.isWord("droits", "droit", "celle", "celles", "maman", "mere", "pere",
			"papa", "parent", "parents", "nom", "compte", "dossier")
	}
	if !ok && s.lastEnd >= 0 && i > s.lastEnd {
		c := s.connector(s.lastEnd)
		ok = c > 0 && s.lastEnd+c == i
	}
	if !ok {
		return 0
	}
	name, n := s.nameAt(i, true)
	if n == 0 {
		return 0
	}
	tg := rules.Target{FirstName: name}
	end := i + n
	if d, dn := s.birthAfter(end); dn > 0 {
		tg.Birth, end = d, end+dn
	}
	s.add(tg, end)
	return end - i
}

// nameWithDate reads a capitalised first name followed by a date, as the
// web form shows beneficiaries: "LUCAS 02/03/2015", "Lucas, né le …".
func (s *targetScan) nameWithDate(i int) int {
	name, n := s.nameAt(i, true)
	if n == 0 {
		return 0
	}
	d, dn := s.birthAfter(i + n)
	if dn == 0 {
		return 0
	}
	s.add(rules.Target{FirstName: name, Birth: d}, i+n+dn)
	return n + dn
}
