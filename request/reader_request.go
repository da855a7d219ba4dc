package request

import "github.com/cpam/attestd/rules"

// mergeTargets puts together what the subject and the text ask.
func mergeTargets(subj, body targets) rules.Request {
	all := targets{
		list:     append(append([]rules.Target(nil), subj.list...), body.list...),
		family:   subj.family || body.family,
		self:     subj.self || body.self,
		weakSelf: subj.weakSelf || body.weakSelf,
		also:     subj.also || body.also,
	}
	return all.request()
}

// request turns what was read into a rules.Request: the whole family wins;
// duplicates and vaguer repeats ("mon fils" then "mon fils Adam") go; the
// author is a target only beside others (alone, no target means him).
func (t targets) request() rules.Request {
	if t.family {
		return rules.Request{Family: true}
	}
	list := dedupeTargets(t.list)
	self := t.self || t.weakSelf && t.also
	if len(list) == 0 {
		return rules.Request{}
	}
	if self {
		list = append([]rules.Target{{Relation: rules.RelationSelf}}, list...)
	}
	return rules.Request{Targets: list}
}

// mergeRequests puts together two readings' requests.
func mergeRequests(a, b rules.Request) rules.Request {
	out := rules.Request{Family: a.Family || b.Family, ETM: a.ETM || b.ETM, C2S: a.C2S || b.C2S}
	if out.Family {
		return out
	}
	out.Targets = dedupeTargets(append(append([]rules.Target(nil), a.Targets...), b.Targets...))
	return out
}

// dedupeTargets removes repeated targets, and the ones that a more precise
// one says again: {Son} beside {Son, Adam}, {Adam} beside {Son, Adam},
// {Children} beside {Child, Léa}.
func dedupeTargets(list []rules.Target) []rules.Target {
	var out []rules.Target
	for i, t := range list {
		drop := false
		for j, u := range list {
			if i != j && (sameTarget(t, u) && j < i || covers(u, t)) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func sameTarget(t, u rules.Target) bool {
	return rules.FoldName(t.FirstName) == rules.FoldName(u.FirstName) && t.Birth == u.Birth && t.Relation == u.Relation &&
		t.Rank == u.Rank
}

// covers reports whether u says all that t says, and more.
func covers(u, t rules.Target) bool {
	if t.FirstName != "" && rules.FoldName(t.FirstName) != rules.FoldName(u.FirstName) {
		return false
	}
	if !t.Birth.IsZero() && t.Birth != u.Birth || t.Rank != rules.RankNone && t.Rank != u.Rank {
		return false
	}
	switch {
	case t.Relation == u.Relation, t.Relation == rules.RelationNone:
	case t.Relation == rules.RelationChildren && (u.Relation == rules.RelationChild || u.Relation == rules.RelationTwins):
	default:
		return false
	}
	return t.FirstName == "" && u.FirstName != "" || t.Birth.IsZero() && !u.Birth.IsZero() || t.Relation != u.Relation ||
		t.Rank == rules.RankNone && u.Rank != rules.RankNone
}
