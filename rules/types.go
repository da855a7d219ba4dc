// Package rules is the entitlement decision of the attestation de droits: given
// a compte, a structured request and today's date, it says what the insured
// gets. It is a pure function: no I/O, no clock of its own.
//
// # Order of the rules
//
// Identity is settled before Decide is called (the caller passes exactly one
// compte). Decide then applies, in this order: beneficiary resolution,
// address, rights, mentions (SPEC section 4).
package rules

import "strings"

// Qualite is a beneficiary's relation to the ouvrant droit.
type Qualite string

// The qualités the registry accepts.
const (
	QualiteAssure   Qualite = "assure"
	QualiteConjoint Qualite = "conjoint"
	QualiteEnfant   Qualite = "enfant"
	QualiteAutre    Qualite = "autre"
)

// Valid reports whether q is one of the known qualités.
func (q Qualite) Valid() bool {
	switch q {
	case QualiteAssure, QualiteConjoint, QualiteEnfant, QualiteAutre:
		return true
	}
	return false
}

// Label is the qualité as the attestation prints it.
func (q Qualite) Label() string {
	switch q {
	case QualiteAssure:
		return "Assuré(e)"
	case QualiteConjoint:
		return "Conjoint(e)"
	case QualiteEnfant:
		return "Enfant"
	case QualiteAutre:
		return "Autre ayant droit"
	}
	return string(q)
}

// Organisme is the caisse that manages a compte.
type Organisme struct {
	Code    string // registry key, e.g. "01751"
	Regime  string // "01"
	Caisse  string // "751"
	Centre  string // "0000"
	Libelle string // "CPAM de Paris"
	Adresse []string
}

// CodeRCC is the code régime caisse centre as printed: "01 751 0000".
func (o Organisme) CodeRCC() string { return o.Regime + " " + o.Caisse + " " + o.Centre }

// Address is a postal address.
type Address struct {
	Lignes     []string
	CodePostal string
	Commune    string
}

// Lines returns the address as printed, one line each, the last being
// "CODE COMMUNE".
func (a Address) Lines() []string {
	out := append([]string(nil), a.Lignes...)
	return append(out, strings.TrimSpace(a.CodePostal+" "+a.Commune))
}

// Exoneration is a period of exonération du ticket modérateur. Motif (ALD,
// INV, MAT…) is medical data: it is never printed nor written in a reply.
type Exoneration struct {
	Period
	Motif string
}

// Beneficiary is a person covered through a compte: the ouvrant droit or one
// of his ayants droit.
type Beneficiary struct {
	NIR           string // normalized, 15 characters; may be empty for an ayant droit without own NIR
	NomFamille    string
	NomUsage      string
	Prenom        string
	DateNaissance Date
	Rang          int // rang de naissance, tells twins apart
	Qualite       Qualite
	Droits        []Period
	ETM           []Exoneration
	C2S           []Period
}

// Sex returns '1' (male) or '2' (female) from the NIR's first digit, or 0
// when the NIR is unknown.
func (b *Beneficiary) Sex() byte {
	if b.NIR == "" {
		return 0
	}
	switch b.NIR[0] {
	case '1', '3', '7':
		return '1'
	case '2', '4', '8':
		return '2'
	}
	return 0
}

// RightsAt returns the droits period that contains day.
func (b *Beneficiary) RightsAt(day Date) (Period, bool) { return periodAt(b.Droits, day) }

// ETMAt returns the ETM period that contains day, without its motif.
func (b *Beneficiary) ETMAt(day Date) (Period, bool) {
	for _, e := range b.ETM {
		if e.Contains(day) {
			return e.Period, true
		}
	}
	return Period{}, false
}

// C2SAt returns the C2S period that contains day.
func (b *Beneficiary) C2SAt(day Date) (Period, bool) { return periodAt(b.C2S, day) }

func periodAt(ps []Period, day Date) (Period, bool) {
	for _, p := range ps {
		if p.Contains(day) {
			return p, true
		}
	}
	return Period{}, false
}

// Compte is an insured person's account: the ouvrant droit, his ayants droit,
// the e-mail and postal address on file.
type Compte struct {
	ID            string
	Email         string
	Organisme     Organisme
	Adresse       *Address // nil: no postal address on file
	NPAI          bool     // mail came back undeliverable from Adresse
	Beneficiaries []Beneficiary
}

// Holder returns the ouvrant droit: the first beneficiary of qualité assure,
// or the first beneficiary when none is marked so.
func (c *Compte) Holder() *Beneficiary {
	for i := range c.Beneficiaries {
		if c.Beneficiaries[i].Qualite == QualiteAssure {
			return &c.Beneficiaries[i]
		}
	}
	if len(c.Beneficiaries) == 0 {
		return nil
	}
	return &c.Beneficiaries[0]
}

// Mention is a complementary mention printed on the attestation.
type Mention string

// The two mentions of the web form.
const (
	MentionETM Mention = "ETM" // exonération du ticket modérateur
	MentionC2S Mention = "C2S" // complémentaire santé solidaire (formerly CMU-C)
)

// Relation is how a request names a beneficiary relative to its author.
type Relation int

// Relations a request can use. RelationNone means the target is named
// otherwise (first name, date of birth).
const (
	RelationNone     Relation = iota
	RelationSelf              // "moi", "mon attestation"
	RelationSpouse            // "ma femme", "mon mari", "mon conjoint"
	RelationChild             // "mon enfant": exactly one child expected
	RelationDaughter          // "ma fille": a child whose NIR says female
	RelationSon               // "mon fils": a child whose NIR says male
	RelationChildren          // "mes enfants": every child
	// RelationTwins designates the children who share a date of birth
	// with another child ("les jumeaux", "les jumelles", "les triplés"):
	// all of them, as RelationChildren does.
	RelationTwins
	// RelationOther designates someone no compte lets the service tell
	// from its beneficiaries ("ma mère", "mon neveu", "ma petite-fille"):
	// it matches nobody, so that a request for such a person is answered
	// beneficiary_unknown, never with the author's attestation.
	RelationOther
)

// Rank picks one child by age among those its relation allows: "l'aîné",
// "la cadette", "le plus jeune" (see rules.Decide).
type Rank int

// The ranks a request can use.
const (
	RankNone     Rank = iota
	RankEldest        // "l'aîné(e)", "le plus âgé", "mon premier"
	RankYoungest      // "le plus jeune", "le benjamin", "la petite dernière"
	RankCadet         // "le cadet", "la cadette": the younger of exactly two
)

// Target describes one beneficiary as the request names it. Every field set
// must hold for a beneficiary to match.
type Target struct {
	FirstName string // as written; compared without case and accents
	Birth     Date   // zero: not given
	Relation  Relation
	Rank      Rank // with a child relation: the child of that rank
}

// Request is what a message asks for, already read from its text.
type Request struct {
	// Family asks for the whole family ("toute la famille"): every covered
	// beneficiary of the compte. Targets are ignored when set.
	Family bool
	// Targets are the beneficiaries named. Empty and not Family: the author
	// himself, the ouvrant droit.
	Targets []Target
	// ETM and C2S are the mentions asked for.
	ETM, C2S bool
	// NIRs are the valid NIRs written in the message, normalized. A NIR
	// designates a person: a target that fits several beneficiaries ("pour
	// l'enfant NIR …") designates the one whose NIR is written, when
	// exactly one is.
	NIRs []string
}
