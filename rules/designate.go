package rules

import "slices"

// designate returns the indexes in c of the beneficiaries target t
// designates (SPEC section 4, step 2), or the outcome that says why it
// designates none: nobody fits (beneficiary_unknown), or several fit a
// description meant for one (beneficiary_ambiguous).
//
// nirs are the valid NIRs written in the message: among several
// beneficiaries that fit t, the one whose NIR is written is the one meant,
// when exactly one is ("pour l'enfant NIR …": the NIR wins over a relation
// that only narrows).
func designate(c *Compte, t Target, nirs []string) ([]int, Outcome) {
	var idx []int
	for i := range c.Beneficiaries {
		if matches(c, &c.Beneficiaries[i], t) {
			idx = append(idx, i)
		}
	}
	switch {
	case len(idx) == 0:
		return nil, BeneficiaryUnknown
	case t.Rank != RankNone:
		return ranked(c, t, idx)
	case len(idx) == 1 || t.Relation == RelationChildren:
		return idx, ""
	case t.Relation == RelationTwins:
		// Two sets of twins: "les jumeaux" does not say which.
		for _, i := range idx[1:] {
			if c.Beneficiaries[i].DateNaissance != c.Beneficiaries[idx[0]].DateNaissance {
				return nil, BeneficiaryAmbiguous
			}
		}
		return idx, ""
	}
	var byNIR []int
	for _, i := range idx {
		if b := &c.Beneficiaries[i]; b.NIR != "" && slices.Contains(nirs, b.NIR) {
			byNIR = append(byNIR, i)
		}
	}
	if len(byNIR) == 1 {
		return byNIR, ""
	}
	return nil, BeneficiaryAmbiguous
}

// twin reports whether child b shares its date of birth with another child
// of c.
func twin(c *Compte, b *Beneficiary) bool {
	for i := range c.Beneficiaries {
		o := &c.Beneficiaries[i]
		if o != b && o.Qualite == QualiteEnfant && !b.DateNaissance.IsZero() && o.DateNaissance == b.DateNaissance {
			return true
		}
	}
	return false
}

// ranked picks the child of rank t.Rank. The rank may be counted among all
// the children ("l'aîné" of the family) or among the children of the sex
// the words give ("ma fille aînée", and "l'aîné" read as the elder son):
// the two readings must not point at two children, and the first counts
// only when the child it finds fits t (idx: the children that do). A rank
// among fewer than two, or between children born the same day, says
// nobody: beneficiary_ambiguous.
func ranked(c *Compte, t Target, idx []int) ([]int, Outcome) {
	var all, sexed []int
	for i := range c.Beneficiaries {
		b := &c.Beneficiaries[i]
		if b.Qualite != QualiteEnfant {
			continue
		}
		all = append(all, i)
		if t.Relation == RelationChild && b.Sex() == '1' || t.Relation != RelationChild && slices.Contains(idx, i) {
			sexed = append(sexed, i)
		}
	}
	pick := -1
	if i, ok := rankAmong(c, all, t.Rank); ok && slices.Contains(idx, i) {
		pick = i
	}
	if i, ok := rankAmong(c, sexed, t.Rank); ok {
		if pick >= 0 && pick != i {
			return nil, BeneficiaryAmbiguous
		}
		pick = i
	}
	if pick < 0 {
		return nil, BeneficiaryAmbiguous
	}
	return []int{pick}, ""
}

// rankAmong returns the beneficiary of rank r among group, by date of
// birth; false when the rank picks nobody or a tie.
func rankAmong(c *Compte, group []int, r Rank) (int, bool) {
	if len(group) < 2 || r == RankCadet && len(group) != 2 {
		return 0, false
	}
	g := slices.Clone(group)
	slices.SortStableFunc(g, func(a, b int) int {
		return c.Beneficiaries[a].DateNaissance.Compare(c.Beneficiaries[b].DateNaissance)
	})
	first, second := g[0], g[1]
	if r != RankEldest {
		first, second = g[len(g)-1], g[len(g)-2]
	}
	if c.Beneficiaries[first].DateNaissance == c.Beneficiaries[second].DateNaissance {
		return 0, false
	}
	return first, true
}
