package rules_test

import (
	"slices"
	"testing"

	"github.com/cpam/attestd/rules"
)

// family builds a covered compte: a holder, a spouse, and children given
// as "F2012-06-19" (sex, date of birth). Their first names are C1, C2….
func family(children ...string) *rules.Compte {
	open := []rules.Period{{Start: rules.MustDate("2000-01-01")}}
	c := &rules.Compte{ID: "C-TEST", Adresse: &rules.Address{Lignes: []string{"1 rue A"}, CodePostal: "75001", Commune: "PARIS"}}
	c.Beneficiaries = append(c.Beneficiaries,
		rules.Beneficiary{Prenom: "HOLDER", NIR: "180017511100100", DateNaissance: rules.MustDate("1980-01-01"), Qualite: rules.QualiteAssure, Droits: open},
		rules.Beneficiary{Prenom: "SPOUSE", NIR: "281017511100200", DateNaissance: rules.MustDate("1981-01-01"), Qualite: rules.QualiteConjoint, Droits: open})
	for i, ch := range children {
		nir := "1"
		if ch[0] == 'F' {
			nir = "2"
		}
		nir += string(rune('0'+i)) + "0000000000000"
		c.Beneficiaries = append(c.Beneficiaries, rules.Beneficiary{Prenom: "C" + string(rune('1'+i)), NIR: nir,
			DateNaissance: rules.MustDate(ch[1:]), Qualite: rules.QualiteEnfant, Droits: open})
	}
	return c
}

// TestDesignate: the ways a request designates family members, against
// families where they are plain, ambiguous, or impossible.
func TestDesignate(t *testing.T) {
	boyGirl := family("M2007-01-05", "F2012-06-19")
	girlBoyBoy := family("F2008-01-01", "M2010-01-01", "M2014-01-01")
	twinsAndOne := family("F2015-03-02", "M2015-03-02", "M2019-05-05")
	twoTwins := family("F2015-03-02", "M2015-03-02", "M2019-05-05", "M2019-05-05")
	noChild := family()
	girls := family("F2010-01-01", "F2013-01-01", "M2016-01-01")
	tg := func(r rules.Relation, k rules.Rank) rules.Target { return rules.Target{Relation: r, Rank: k} }
	const (
		child, daughter, son = rules.RelationChild, rules.RelationDaughter, rules.RelationSon
		eldest, youngest     = rules.RankEldest, rules.RankYoungest
		cadet                = rules.RankCadet
	)
	cases := []struct {
		name   string
		c      *rules.Compte
		req    rules.Request
		want   []string      // issued for these
		refuse rules.Outcome // or this outcome
	}{
		{"les jumeaux", twinsAndOne, req(tg(rules.RelationTwins, 0)), []string{"C1", "C2"}, ""},
		{"les jumeaux, none", boyGirl, req(tg(rules.RelationTwins, 0)), nil, rules.BeneficiaryUnknown},
		{"les jumeaux, two pairs", twoTwins, req(tg(rules.RelationTwins, 0)), nil, rules.BeneficiaryAmbiguous},
		{"moi et les jumeaux", twinsAndOne, req(tg(rules.RelationSelf, 0), tg(rules.RelationTwins, 0)), []string{"HOLDER", "C1", "C2"}, ""},
		{"ma mère", boyGirl, req(tg(rules.RelationOther, 0)), nil, rules.BeneficiaryUnknown},
		{"moi et mon neveu: nothing partial", boyGirl, req(tg(rules.RelationSelf, 0), tg(rules.RelationOther, 0)), nil, rules.BeneficiaryUnknown},
		{"mon mari", boyGirl, req(tg(rules.RelationSpouse, 0)), []string{"SPOUSE"}, ""},
		{"l'aîné", boyGirl, req(tg(child, eldest)), []string{"C1"}, ""},
		{"le plus jeune", boyGirl, req(tg(child, youngest)), []string{"C2"}, ""},
		{"la cadette", boyGirl, req(tg(daughter, cadet)), []string{"C2"}, ""},
		{"l'aînée, the eldest is a boy", boyGirl, req(tg(daughter, eldest)), nil, rules.BeneficiaryAmbiguous},
		{"l'aîné, no child", noChild, req(tg(child, eldest)), nil, rules.BeneficiaryUnknown},
		{"l'aîné: the eldest is a girl, a son is older than the other", girlBoyBoy, req(tg(child, eldest)), nil, rules.BeneficiaryAmbiguous},
		{"mon fils aîné", girlBoyBoy, req(tg(son, eldest)), []string{"C2"}, ""},
		{"mon fils cadet", girlBoyBoy, req(tg(son, cadet)), []string{"C3"}, ""},
		{"le cadet: the younger of two sons beside an elder girl", girlBoyBoy, req(tg(child, cadet)), []string{"C3"}, ""},
		{"le cadet of three boys", family("M2008-01-01", "M2010-01-01", "M2014-01-01"), req(tg(child, cadet)), nil, rules.BeneficiaryAmbiguous},
		{"le plus jeune of three", girlBoyBoy, req(tg(child, youngest)), []string{"C3"}, ""},
		{"l'aînée of two girls and a boy", girls, req(tg(daughter, eldest)), []string{"C1"}, ""},
		{"la cadette of two girls and a boy", girls, req(tg(daughter, cadet)), []string{"C2"}, ""},
		{"l'aîné of twins", family("F2015-03-02", "M2015-03-02"), req(tg(child, eldest)), nil, rules.BeneficiaryAmbiguous},
		{"l'enfant and the NIR of one child", boyGirl, rules.Request{Targets: []rules.Target{tg(child, 0)},
			NIRs: []string{boyGirl.Beneficiaries[3].NIR}}, []string{"C2"}, ""},
		{"l'enfant and the holder's NIR", boyGirl, rules.Request{Targets: []rules.Target{tg(child, 0)},
			NIRs: []string{boyGirl.Beneficiaries[0].NIR}}, nil, rules.BeneficiaryAmbiguous},
		{"l'enfant and both children's NIRs", boyGirl, rules.Request{Targets: []rules.Target{tg(child, 0)},
			NIRs: []string{boyGirl.Beneficiaries[2].NIR, boyGirl.Beneficiaries[3].NIR}}, nil, rules.BeneficiaryAmbiguous},
		{"ma fille and the NIR of the son: the relation holds", boyGirl, rules.Request{Targets: []rules.Target{tg(daughter, 0)},
			NIRs: []string{boyGirl.Beneficiaries[2].NIR}}, []string{"C2"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := rules.Decide(tc.c, tc.req, today)
			want := rules.Issued
			if tc.refuse != "" {
				want = tc.refuse
			}
			if d.Outcome != want {
				t.Fatalf("outcome %s, want %s", d.Outcome, want)
			}
			var got []string
			for _, l := range d.Listed {
				got = append(got, l.Prenom)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
}

func req(ts ...rules.Target) rules.Request { return rules.Request{Targets: ts} }
