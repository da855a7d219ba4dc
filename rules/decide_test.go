package rules_test

import (
	"slices"
	"testing"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

var today = rules.MustDate("2026-11-25")

// sample loads the sample registry, indexed by compte id.
func sample(t testing.TB) map[string]*rules.Compte {
	t.Helper()
	comptes, err := samples.Comptes()
	if err != nil {
		t.Fatal(err)
	}
	return comptes
}

func names(bs []*rules.Beneficiary) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Prenom)
	}
	return out
}

func listed(d rules.Decision) map[string][]rules.Mention {
	out := map[string][]rules.Mention{}
	for _, l := range d.Listed {
		out[l.Prenom] = l.Mentions()
	}
	return out
}

func refused(d rules.Decision) []string {
	var out []string
	for _, r := range d.Refused {
		out = append(out, r.Beneficiary.Prenom+":"+string(r.Mention))
	}
	return out
}

func TestDecide(t *testing.T) {
	reg := sample(t)
	name := func(n string) rules.Target { return rules.Target{FirstName: n} }
	tests := []struct {
		name       string
		compte     string
		req        rules.Request
		day        rules.Date
		outcome    rules.Outcome
		listed     map[string][]rules.Mention // first name -> granted mentions
		notCovered []string
		refused    []string
	}{
		{"Eva, herself by default", "C-EVA", rules.Request{}, today, rules.Issued,
			map[string][]rules.Mention{"EVA": nil}, nil, nil},
		{"Eva asks ETM she does not have: issued without it", "C-EVA", rules.Request{ETM: true}, today, rules.Issued,
			map[string][]rules.Mention{"EVA": nil}, nil, []string{"EVA:ETM"}},
		{"Eva names a son she does not have", "C-EVA", rules.Request{Targets: []rules.Target{{FirstName: "Hugo", Relation: rules.RelationSon}}}, today,
			rules.BeneficiaryUnknown, nil, nil, nil},
		{"Peigne family with ETM and C2S", "C-BENOIT", rules.Request{Family: true, ETM: true, C2S: true}, today, rules.Issued,
			map[string][]rules.Mention{"BENOIT": {"ETM", "C2S"}, "CLAIRE": {"C2S"}, "LÉA": {"C2S"}, "LUCAS": {"ETM", "C2S"}},
			nil, []string{"CLAIRE:ETM", "LÉA:ETM"}},
		{"ma fille Léa (accents folded)", "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "Lea", Relation: rules.RelationDaughter}}}, today,
			rules.Issued, map[string][]rules.Mention{"LÉA": nil}, nil, nil},
		{"ma fille without a name: one daughter", "C-BENOIT", rules.Request{Targets: []rules.Target{{Relation: rules.RelationDaughter}}}, today,
			rules.Issued, map[string][]rules.Mention{"LÉA": nil}, nil, nil},
		{"twins by date of birth only: ambiguous", "C-BENOIT", rules.Request{Targets: []rules.Target{{Birth: rules.MustDate("2015-03-02")}}}, today,
			rules.BeneficiaryAmbiguous, nil, nil, nil},
		{"twins: mon enfant is ambiguous", "C-BENOIT", rules.Request{Targets: []rules.Target{{Relation: rules.RelationChild}}}, today,
			rules.BeneficiaryAmbiguous, nil, nil, nil},
		{"twins told apart by first name and date", "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "LUCAS", Birth: rules.MustDate("2015-03-02")}}}, today,
			rules.Issued, map[string][]rules.Mention{"LUCAS": nil}, nil, nil},
		{"mes enfants: both twins", "C-BENOIT", rules.Request{Targets: []rules.Target{{Relation: rules.RelationChildren}}, C2S: true}, today,
			rules.Issued, map[string][]rules.Mention{"LÉA": {"C2S"}, "LUCAS": {"C2S"}}, nil, nil},
		{"Léa et Lucas", "C-BENOIT", rules.Request{Targets: []rules.Target{name("léa"), name("LUCAS")}}, today,
			rules.Issued, map[string][]rules.Mention{"LÉA": nil, "LUCAS": nil}, nil, nil},
		{"ma femme", "C-BENOIT", rules.Request{Targets: []rules.Target{{Relation: rules.RelationSpouse}}}, today,
			rules.Issued, map[string][]rules.Mention{"CLAIRE": nil}, nil, nil},
		{"wrong date for a named child", "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "Lucas", Birth: rules.MustDate("2015-03-03")}}}, today,
			rules.BeneficiaryUnknown, nil, nil, nil},
		{"mon fils named Léa does not match", "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "Léa", Relation: rules.RelationSon}}}, today,
			rules.BeneficiaryUnknown, nil, nil, nil},
		{"Marc has no address", "C-MARC", rules.Request{}, today, rules.AddressMissing, nil, nil, nil},
		{"Inès is NPAI", "C-INES", rules.Request{}, today, rules.AddressMissing, nil, nil, nil},
		{"address is checked after beneficiaries", "C-MARC", rules.Request{Targets: []rules.Target{name("Paul")}}, today,
			rules.BeneficiaryUnknown, nil, nil, nil},
		{"Sophie's rights closed", "C-SOPHIE", rules.Request{}, today, rules.RightsClosed, nil, []string{"SOPHIE"}, nil},
		{"Sophie on the last day of her rights", "C-SOPHIE", rules.Request{}, rules.MustDate("2025-06-30"), rules.Issued,
			map[string][]rules.Mention{"SOPHIE": nil}, nil, nil},
		{"Sophie the day after", "C-SOPHIE", rules.Request{}, rules.MustDate("2025-07-01"), rules.RightsClosed, nil, []string{"SOPHIE"}, nil},
		{"Benali: mon fils Adam is closed", "C-KARIM", rules.Request{Targets: []rules.Target{{FirstName: "Adam", Relation: rules.RelationSon}}}, today,
			rules.RightsClosed, nil, []string{"ADAM"}, nil},
		{"Benali family: Adam not covered, named", "C-KARIM", rules.Request{Family: true}, today, rules.Issued,
			map[string][]rules.Mention{"KARIM": nil, "NORA": nil}, []string{"ADAM"}, nil},
		{"Benali: Nora and Adam", "C-KARIM", rules.Request{Targets: []rules.Target{name("Nora"), name("Adam")}}, today, rules.Issued,
			map[string][]rules.Mention{"NORA": nil}, []string{"ADAM"}, nil},
		{"Benali: Nora by date of birth", "C-KARIM", rules.Request{Targets: []rules.Target{{Birth: rules.MustDate("2012-06-19")}}}, today, rules.Issued,
			map[string][]rules.Mention{"NORA": nil}, nil, nil},
		{"Marie-Ange maternity ETM open", "C-MARIE", rules.Request{ETM: true}, today, rules.Issued,
			map[string][]rules.Mention{"MARIE-ANGE": {"ETM"}}, nil, nil},
		{"Marie-Ange written MARIE ANGE", "C-MARIE", rules.Request{Targets: []rules.Target{name("marie ange")}}, today, rules.Issued,
			map[string][]rules.Mention{"MARIE-ANGE": nil}, nil, nil},
		{"Marie-Ange ETM after it ends", "C-MARIE", rules.Request{ETM: true}, rules.MustDate("2027-03-01"), rules.Issued,
			map[string][]rules.Mention{"MARIE-ANGE": nil}, nil, []string{"MARIE-ANGE:ETM"}},
		{"Marie-Ange ETM before it starts", "C-MARIE", rules.Request{ETM: true, C2S: true}, rules.MustDate("2026-05-31"), rules.Issued,
			map[string][]rules.Mention{"MARIE-ANGE": nil}, nil, []string{"MARIE-ANGE:ETM", "MARIE-ANGE:C2S"}},
		{"Ana by her first name (usage name compte)", "C-ANA", rules.Request{Targets: []rules.Target{name("Ana")}}, today, rules.Issued,
			map[string][]rules.Mention{"ANA": nil}, nil, nil},
		{"Rousseau: Thomas's compte, himself", "C-THOMAS", rules.Request{}, today, rules.Issued,
			map[string][]rules.Mention{"THOMAS": nil}, nil, nil},
		{"Rousseau: Julie is not in Thomas's compte", "C-THOMAS", rules.Request{Targets: []rules.Target{name("Julie")}}, today,
			rules.BeneficiaryUnknown, nil, nil, nil},
		{"Lucas's open-ended ETM (C2S ended next year)", "C-BENOIT", rules.Request{Targets: []rules.Target{name("Lucas")}, ETM: true, C2S: true},
			rules.MustDate("2027-01-01"), rules.Issued, map[string][]rules.Mention{"LUCAS": {"ETM"}}, nil, []string{"LUCAS:C2S"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := reg[tt.compte]
			d := rules.Decide(c, tt.req, tt.day)
			if d.Outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s", d.Outcome, tt.outcome)
			}
			got := listed(d)
			if len(got) != len(tt.listed) {
				t.Errorf("listed %v, want %v", got, tt.listed)
			}
			for n, ms := range tt.listed {
				g, ok := got[n]
				if !ok || !slices.Equal(g, ms) {
					t.Errorf("%s: listed=%v mentions %v, want %v", n, ok, g, ms)
				}
			}
			if nc := names(d.NotCovered); !slices.Equal(nc, tt.notCovered) {
				t.Errorf("not covered %v, want %v", nc, tt.notCovered)
			}
			if r := refused(d); !slices.Equal(r, tt.refused) {
				t.Errorf("refused %v, want %v", r, tt.refused)
			}
		})
	}
}

// Granted mentions carry the period that contains the day of issue, and the
// listed rights period is the open one.
func TestDecidePeriods(t *testing.T) {
	c := sample(t)["C-BENOIT"]
	d := rules.Decide(c, rules.Request{Family: true, ETM: true, C2S: true}, today)
	for _, l := range d.Listed {
		if !l.Rights.Contains(today) {
			t.Errorf("%s: rights %v do not contain today", l.Prenom, l.Rights)
		}
		if l.Prenom == "BENOIT" {
			if l.ETM == nil || l.ETM.French() != "du 01/02/2024 au 31/01/2029" {
				t.Errorf("BENOIT ETM %v", l.ETM)
			}
			if l.C2S == nil || l.C2S.French() != "du 01/01/2026 au 31/12/2026" {
				t.Errorf("BENOIT C2S %v", l.C2S)
			}
		}
		if l.Prenom == "LUCAS" && (l.ETM == nil || l.ETM.French() != "depuis le 01/05/2025") {
			t.Errorf("LUCAS ETM %v", l.ETM)
		}
	}
}

// Decide is pure: the same input gives the same decision, and the compte is
// not modified.
func TestDecidePure(t *testing.T) {
	c := sample(t)["C-KARIM"]
	before := *c
	a := rules.Decide(c, rules.Request{Family: true}, today)
	b := rules.Decide(c, rules.Request{Family: true}, today)
	if len(a.Listed) != len(b.Listed) || a.Outcome != b.Outcome || len(c.Beneficiaries) != len(before.Beneficiaries) {
		t.Fatal("Decide is not deterministic")
	}
}

func BenchmarkDecideFamily(b *testing.B) {
	c := sample(b)["C-BENOIT"]
	req := rules.Request{Family: true, ETM: true, C2S: true}
	b.ReportAllocs()
	for b.Loop() {
		rules.Decide(c, req, today)
	}
}
