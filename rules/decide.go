package rules

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Outcome is how a message ends (SPEC section 5). Every message ends in
// exactly one.
type Outcome string

// The outcomes. Decide returns only the first six; the others are decided by
// the mail pipeline around it.
const (
	Issued               Outcome = "issued"
	AddressMissing       Outcome = "address_missing"
	RightsClosed         Outcome = "rights_closed"
	BeneficiaryUnknown   Outcome = "beneficiary_unknown"
	BeneficiaryAmbiguous Outcome = "beneficiary_ambiguous"
	SenderUnknown        Outcome = "sender_unknown"
	SenderAmbiguous      Outcome = "sender_ambiguous"
	SenderUnverified     Outcome = "sender_unverified"
	NIRInvalid           Outcome = "nir_invalid"
	NotAttestation       Outcome = "not_attestation"
	Suppressed           Outcome = "suppressed"
	Rejected             Outcome = "rejected"
	Failed               Outcome = "failed"
	// LimitReached: the compte's daily attestation limit is reached and the
	// request came from the gateway or an agent, who get a generic reply
	// saying when to write again; on the direct channel the same request
	// is Suppressed, unanswered (SPEC section 7).
	LimitReached Outcome = "limit_reached"
)

// Outcomes lists every outcome, in the order of SPEC section 5.
var Outcomes = []Outcome{Issued, AddressMissing, RightsClosed, BeneficiaryUnknown, BeneficiaryAmbiguous,
	SenderUnknown, SenderAmbiguous, NIRInvalid, Failed, LimitReached, SenderUnverified, NotAttestation, Suppressed, Rejected}

// Listed is a beneficiary printed on the attestation, with the periods that
// contain the day of issue.
type Listed struct {
	*Beneficiary
	Rights Period
	ETM    *Period // granted: asked for and open today
	C2S    *Period // granted: asked for and open today
}

// Mentions returns the granted mentions, ETM first.
func (l Listed) Mentions() []Mention {
	var ms []Mention
	if l.ETM != nil {
		ms = append(ms, MentionETM)
	}
	if l.C2S != nil {
		ms = append(ms, MentionC2S)
	}
	return ms
}

// Refusal is a mention asked for a listed beneficiary that is not open today.
type Refusal struct {
	Beneficiary *Beneficiary
	Mention     Mention
}

// Decision is what Decide concludes.
type Decision struct {
	Outcome Outcome
	// Family is set when the whole family was asked for.
	Family bool
	// Listed are the beneficiaries on the attestation (Issued only), in
	// the compte's order.
	Listed []Listed
	// NotCovered are requested beneficiaries without open rights today.
	NotCovered []*Beneficiary
	// Refused are the mentions asked but not open, per listed beneficiary.
	Refused []Refusal
}

// Decide applies the entitlement rules of SPEC section 4 to one compte. The
// compte is the one identity resolution gave; today is the date of issue.
func Decide(c *Compte, req Request, today Date) Decision {
	d := Decision{Family: req.Family}
	requested, outcome := resolve(c, req)
	if outcome != "" {
		d.Outcome = outcome
		return d
	}
	if c.Adresse == nil || c.NPAI || len(c.Adresse.Lignes) == 0 {
		d.Outcome = AddressMissing
		return d
	}
	for _, b := range requested {
		rights, ok := b.RightsAt(today)
		if !ok {
			d.NotCovered = append(d.NotCovered, b)
			continue
		}
		l := Listed{Beneficiary: b, Rights: rights}
		if req.ETM {
			if p, ok := b.ETMAt(today); ok {
				l.ETM = &p
			} else {
				d.Refused = append(d.Refused, Refusal{b, MentionETM})
			}
		}
		if req.C2S {
			if p, ok := b.C2SAt(today); ok {
				l.C2S = &p
			} else {
				d.Refused = append(d.Refused, Refusal{b, MentionC2S})
			}
		}
		d.Listed = append(d.Listed, l)
	}
	if len(d.Listed) == 0 {
		d.Outcome = RightsClosed
		d.Refused = nil
		return d
	}
	d.Outcome = Issued
	return d
}

// resolve turns the request's targets into beneficiaries of c, in the
// compte's order, each once. It returns an outcome when that fails.
func resolve(c *Compte, req Request) ([]*Beneficiary, Outcome) {
	if req.Family {
		all := make([]*Beneficiary, len(c.Beneficiaries))
		for i := range c.Beneficiaries {
			all[i] = &c.Beneficiaries[i]
		}
		return all, ""
	}
	targets := req.Targets
	if len(targets) == 0 {
		targets = []Target{{Relation: RelationSelf}}
	}
	chosen := make([]bool, len(c.Beneficiaries))
	for _, t := range targets {
		idx, outcome := designate(c, t, req.NIRs)
		if outcome != "" {
			return nil, outcome
		}
		for _, i := range idx {
			chosen[i] = true
		}
	}
	var out []*Beneficiary
	for i := range c.Beneficiaries {
		if chosen[i] {
			out = append(out, &c.Beneficiaries[i])
		}
	}
	return out, ""
}

func matches(c *Compte, b *Beneficiary, t Target) bool {
	if t.FirstName != "" && FoldName(t.FirstName) != FoldName(b.Prenom) {
		return false
	}
	if !t.Birth.IsZero() && t.Birth != b.DateNaissance {
		return false
	}
	switch t.Relation {
	case RelationSelf:
		return b == c.Holder()
	case RelationSpouse:
		return b.Qualite == QualiteConjoint
	case RelationChild, RelationChildren:
		return b.Qualite == QualiteEnfant
	case RelationTwins:
		return b.Qualite == QualiteEnfant && twin(c, b)
	case RelationOther:
		return false
	case RelationDaughter:
		return b.Qualite == QualiteEnfant && b.Sex() == '2'
	case RelationSon:
		return b.Qualite == QualiteEnfant && b.Sex() == '1'
	}
	return true
}

// FoldName folds a name for comparison: upper case, no accents, hyphens and
// apostrophes read as spaces, runs of spaces collapsed. "Marie-Ange" and
// "MARIE ANGE" fold alike, so do "Léa" and "LEA".
func FoldName(s string) string {
	var b strings.Builder
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case r >= 0x300 && r <= 0x36f: // combining accents
		case r == '-' || r == '\'' || r == '’' || r == ' ' || r == '\t' || r == '.':
			if !space {
				b.WriteByte(' ')
				space = true
			}
		default:
			b.WriteString(strings.ToUpper(string(r)))
			space = false
		}
	}
	return strings.TrimRight(b.String(), " ")
}
