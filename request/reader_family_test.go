package request

import (
	"slices"
	"testing"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

func tRank(r rules.Relation, k rules.Rank) rules.Target { return rules.Target{Relation: r, Rank: k} }

var (
	tTwins = rules.Target{Relation: rules.RelationTwins}
	tOther = rules.Target{Relation: rules.RelationOther}
)

// designationCases are the French ways of designating family members
// (issue 15 item 2): each must give a target, never the author by default.
var designationCases = []readCase{
	{name: "les jumeaux", text: "Bonjour, je voudrais les attestations de droits des jumeaux.", targets: tList(tTwins)},
	{name: "pour les jumeaux", text: "attestation de droits pour les jumeaux svp", targets: tList(tTwins)},
	{name: "mes jumelles", text: "l'attestation de mes jumelles", targets: tList(tTwins)},
	{name: "nos triplés", text: "Attestation de droits pour nos triplés.", targets: tList(tTwins)},
	{name: "mes enfants jumeaux", text: "attestation pour mes enfants jumeaux", targets: tList(tTwins)},
	{name: "les jumeaux named", text: "attestation pour les jumeaux Léa et Lucas", targets: tList(tRel(relChild, "Léa"), tRel(relChild, "Lucas"))},
	{name: "les petits", text: "attestation de droits pour les petits svp", targets: tList(tChildren)},
	{name: "les petits détails is no one", text: "attestation de droits, merci pour les petits détails"},
	{name: "les enfants", text: "Bonjour, il me faut l'attestation de droits pour les enfants.", targets: tList(tChildren)},
	{name: "mes enfants", text: "attestation de mes enfants", targets: tList(tChildren)},
	{name: "les gamins", text: "attestation pour les gamins merci", targets: tList(tChildren)},
	{name: "ma femme", text: "attestation de ma femme", targets: tList(tSpouse)},
	{name: "mon mari", text: "attestation de droits de mon mari", targets: tList(tSpouse)},
	{name: "ma conjointe", text: "attestation pour ma conjointe", targets: tList(tSpouse)},
	{name: "mon conjoint", text: "attestation pour mon conjoint", targets: tList(tSpouse)},
	{name: "mon compagnon", text: "attestation de droits pour mon compagnon svp", targets: tList(tSpouse)},
	{name: "ma compagne", text: "attestation de droits pour ma compagne", targets: tList(tSpouse)},
	{name: "mon époux", text: "l'attestation de mon époux", targets: tList(tSpouse)},
	{name: "mon épouse", text: "l'attestation de mon EPOUSE", targets: tList(tSpouse)},
	{name: "l'aîné", text: "attestation de droits pour l'aîné", targets: tList(tRank(relChild, rules.RankEldest))},
	{name: "l'aînée", text: "attestation de droits pour l'aînée", targets: tList(tRank(relDaughter, rules.RankEldest))},
	{name: "l'ainee without accents", text: "attestation de droits pour l ainee svp", targets: tList(tRank(relDaughter, rules.RankEldest))},
	{name: "le cadet", text: "attestation de droits pour le cadet.", targets: tList(tRank(relChild, rules.RankCadet))},
	{name: "la cadette", text: "attestation de droits de la cadette", targets: tList(tRank(relDaughter, rules.RankCadet))},
	{name: "le plus jeune", text: "attestation de droits pour le plus jeune", targets: tList(tRank(relChild, rules.RankYoungest))},
	{name: "la plus jeune", text: "attestation de droits pour la plus jeune", targets: tList(tRank(relDaughter, rules.RankYoungest))},
	{name: "mon aîné", text: "attestation de mon aîné svp", targets: tList(tRank(relChild, rules.RankEldest))},
	{name: "mon fils aîné", text: "attestation de mon fils aîné", targets: tList(tRank(relSon, rules.RankEldest))},
	{name: "ma fille cadette", text: "attestation pour ma fille cadette", targets: tList(tRank(relDaughter, rules.RankCadet))},
	{name: "mon plus jeune fils", text: "attestation pour mon plus jeune fils", targets: tList(tRank(relSon, rules.RankYoungest))},
	{name: "ma fille la plus jeune", text: "attestation pour ma fille la plus jeune", targets: tList(tRank(relDaughter, rules.RankYoungest))},
	{name: "l'aîné de mes enfants", text: "attestation de droits pour l'aîné de mes enfants", targets: tList(tRank(relChild, rules.RankEldest))},
	{name: "la plus jeune de mes filles", text: "attestation pour la plus jeune de mes filles", targets: tList(tRank(relDaughter, rules.RankYoungest))},
	{name: "du plus jeune", text: "l'attestation de droits du plus jeune svp", targets: tList(tRank(relChild, rules.RankYoungest))},
	{name: "aux jumeaux", text: "attestation de droits aux jumeaux", targets: tList(tTwins)},
	{name: "le petit dernier", text: "attestation de droits pour le petit dernier", targets: tList(tRank(relChild, rules.RankYoungest))},
	{name: "ma petite dernière", text: "attestation de droits pour ma petite dernière", targets: tList(tRank(relDaughter, rules.RankYoungest))},
	{name: "l'aînée named", text: "attestation pour l'aînée, Léa", targets: tList(tRel(relDaughter, "Léa"))},
	{name: "ma dernière attestation is no one", text: "je n'ai pas reçu ma dernière attestation de droits"},
	{name: "le plus grand soin is no one", text: "attestation de droits, à lire avec le plus grand soin"},
	{name: "Benjamin is a name", text: "attestation de droits pour Benjamin", targets: tList(tName("Benjamin"))},
	{name: "moi et les jumeaux", text: "attestation de droits pour moi et les jumeaux", targets: tList(tSelf, tTwins)},
	{name: "moi-même et ma fille", text: "attestation pour moi-même et ma fille", targets: tList(tSelf, tDaughter)},
	{name: "moi et mon mari", text: "attestations de droits pour moi et mon mari", targets: tList(tSelf, tSpouse)},
	{name: "moi et l'aîné", text: "attestations de droits pour moi et l'aîné", targets: tList(tSelf, tRank(relChild, rules.RankEldest))},
	{name: "ma mère", text: "Bonjour, j'ai besoin de l'attestation de droits de ma mère.", targets: tList(tOther)},
	{name: "mon neveu", text: "attestation de droits pour mon neveu", targets: tList(tOther)},
	{name: "mes parents", text: "attestation de droits pour mes parents", targets: tList(tOther)},
	{name: "ma petite-fille", text: "attestation de droits pour ma petite-fille", targets: tList(tOther)},
	{name: "mes petits-enfants", text: "attestation de droits pour mes petits-enfants", targets: tList(tOther)},
	{name: "mes petits enfants", text: "attestation de droits pour mes petits enfants", targets: tList(tOther)},
	{name: "mon arrière-petit-fils", text: "attestation de droits pour mon arrière-petit-fils", targets: tList(tOther)},
	{name: "ma belle-fille", text: "attestation de droits pour ma belle-fille", targets: tList(tOther)},
	{name: "mon ex-mari", text: "attestation de droits de mon ex-mari", targets: tList(tOther)},
	{name: "mon petit-fils named", text: "attestation de droits pour mon petit-fils Hugo", targets: tList(tName("Hugo"))},
	{name: "mon petit garçon", text: "attestation de droits pour mon petit garçon", targets: tList(tSon)},
	{name: "moi et ma mère", text: "attestation pour moi et ma mère", targets: tList(tSelf, tOther)},
}

// dateCases are dates in words (issue 15 item 4), read as the numeric
// forms are: for the author and for beneficiaries. Today is 2026-11-25.
var dateCases = []readCase{
	{name: "né le 30 avril 1981", text: "Bonjour,\nJe suis Thomas Rousseau, né le 30 avril 1981. Mon attestation de droits svp.",
		author: &Author{FirstNames: []string{"THOMAS", "ROUSSEAU"}, Birth: rules.MustDate("1981-04-30")}},
	{name: "capitals", text: "Je suis Thomas Rousseau, né le 30 AVRIL 1981. attestation de droits",
		author: &Author{FirstNames: []string{"THOMAS", "ROUSSEAU"}, Birth: rules.MustDate("1981-04-30")}},
	{name: "two-digit year, past century", text: "Je suis né le 30 avril 81, mon attestation de droits svp",
		author: &Author{Birth: rules.MustDate("1981-04-30")}},
	{name: "1er mars 2015", text: "attestation pour Lucas né le 1er mars 2015", targets: tList(tBorn("Lucas", "2015-03-01"))},
	{name: "1ER MARS 2015", text: "ATTESTATION POUR LUCAS NE LE 1ER MARS 2015", targets: tList(tBorn("LUCAS", "2015-03-01"))},
	{name: "premier mars 2015", text: "attestation pour Lucas né le premier mars 2015", targets: tList(tBorn("Lucas", "2015-03-01"))},
	{name: "le 2 mars 15", text: "attestation de droits pour Lucas, né le 2 mars 15", targets: tList(tBorn("Lucas", "2015-03-02"))},
	{name: "two-digit year that would be future", text: "attestation pour Jean né le 2 décembre 26", targets: tList(tBorn("Jean", "1926-12-02"))},
	{name: "two-digit year, this year", text: "attestation pour le bébé né le 2 mars 26",
		targets: tList(rules.Target{Relation: relChild, Birth: rules.MustDate("2026-03-02")})},
	{name: "two-digit year today", text: "attestation pour le bébé né le 25 novembre 26",
		targets: tList(rules.Target{Relation: relChild, Birth: rules.MustDate("2026-11-25")})},
	{name: "numeric two-digit year that would be future", text: "attestation pour Jean né le 02/12/26", targets: tList(tBorn("Jean", "1926-12-02"))},
	{name: "numeric two-digit year", text: "attestation pour LUCAS 02/03/15", targets: tList(tBorn("LUCAS", "2015-03-02"))},
	{name: "février", text: "attestation pour ma fille née le 3 février 2016",
		targets: tList(rules.Target{Relation: relDaughter, Birth: rules.MustDate("2016-02-03")})},
	{name: "fevrier without accent", text: "attestation pour ma fille nee le 3 fevrier 2016",
		targets: tList(rules.Target{Relation: relDaughter, Birth: rules.MustDate("2016-02-03")})},
	{name: "FÉVRIER", text: "ATTESTATION POUR MA FILLE NÉE LE 3 FÉVRIER 2016",
		targets: tList(rules.Target{Relation: relDaughter, Birth: rules.MustDate("2016-02-03")})},
	{name: "févr. abbreviated", text: "attestation pour ma fille née le 3 févr. 2016",
		targets: tList(rules.Target{Relation: relDaughter, Birth: rules.MustDate("2016-02-03")})},
	{name: "août", text: "attestation pour mon fils né le 15 août 2010",
		targets: tList(rules.Target{Relation: relSon, Birth: rules.MustDate("2010-08-15")})},
	{name: "aout without accent", text: "attestation pour mon fils ne le 15 aout 2010",
		targets: tList(rules.Target{Relation: relSon, Birth: rules.MustDate("2010-08-15")})},
	{name: "date alone in words", text: "attestation de droits pour l'enfant né le 19 juin 2012",
		targets: tList(rules.Target{Relation: relChild, Birth: rules.MustDate("2012-06-19")})},
	{name: "no such day", text: "attestation pour Lucas né le 31 février 2015", targets: tList(tName("Lucas"))},
	{name: "a time is no year", text: "attestation de droits pour Lucas, rendez-vous le 2 mars 15:30", targets: tList(tName("Lucas"))},
}

func TestReadDesignations(t *testing.T) { runReadCases(t, designationCases) }

func TestReadDatesInWords(t *testing.T) { runReadCases(t, dateCases) }

// TestReadThenDecide reads designations and decides them against the
// sample comptes: who gets an attestation, or why nobody does. A request
// naming someone the compte cannot resolve never falls back to its author.
func TestReadThenDecide(t *testing.T) {
	comptes, err := samples.Comptes()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		compte, text string
		outcome      rules.Outcome
		who          []string // designated: listed or not covered
	}{
		{"C-BENOIT", "attestation de droits pour les jumeaux", rules.Issued, []string{"LÉA", "LUCAS"}},
		{"C-BENOIT", "attestation pour moi et les jumeaux", rules.Issued, []string{"BENOIT", "LÉA", "LUCAS"}},
		{"C-BENOIT", "attestation de droits pour ma femme", rules.Issued, []string{"CLAIRE"}},
		{"C-BENOIT", "attestations pour moi-même et ma conjointe", rules.Issued, []string{"BENOIT", "CLAIRE"}},
		{"C-BENOIT", "attestation pour l'aîné", rules.BeneficiaryAmbiguous, nil}, // twins
		{"C-BENOIT", "attestation pour l'enfant", rules.BeneficiaryAmbiguous, nil},
		// Item 3: a NIR beside a relation word designates one of those it fits.
		{"C-BENOIT", "Bonjour, attestation de droits pour l'enfant NIR 1 15 03 69 123 246 60.", rules.Issued, []string{"LUCAS"}},
		{"C-BENOIT", "attestation de droits pour l'enfant (NIR 215036912324511)", rules.Issued, []string{"LÉA"}},
		{"C-BENOIT", "attestation pour l'enfant, NIR de l'assuré 1 85 06 69 123 087 38", rules.BeneficiaryAmbiguous, nil},
		{"C-KARIM", "attestation de droits pour l'aîné", rules.RightsClosed, []string{"ADAM"}},
		{"C-KARIM", "attestation de droits pour la cadette", rules.Issued, []string{"NORA"}},
		{"C-KARIM", "attestation de droits pour le plus jeune", rules.Issued, []string{"NORA"}},
		{"C-KARIM", "attestation de droits pour les petits", rules.Issued, []string{"ADAM", "NORA"}},
		{"C-KARIM", "attestation de droits pour l'aînée", rules.BeneficiaryAmbiguous, nil},
		{"C-KARIM", "attestation de droits pour les jumeaux", rules.BeneficiaryUnknown, nil},
		{"C-KARIM", "attestation pour moi et les jumeaux", rules.BeneficiaryUnknown, nil},
		{"C-KARIM", "attestation de droits pour mon mari", rules.BeneficiaryUnknown, nil},
		{"C-KARIM", "attestation de droits de ma mère", rules.BeneficiaryUnknown, nil},
		{"C-KARIM", "attestation de droits pour mon petit-fils", rules.BeneficiaryUnknown, nil},
	}
	for _, tc := range cases {
		t.Run(tc.compte+" "+tc.text, func(t *testing.T) {
			c := comptes[tc.compte]
			var known []string
			for _, b := range c.Beneficiaries {
				known = append(known, b.Prenom)
			}
			r := Read("", tc.text, &ReadOptions{Known: known, Today: readToday})
			d := rules.Decide(c, r.Request, readToday)
			if d.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s (targets %s)", d.Outcome, tc.outcome, targetsString(r.Request.Targets))
			}
			var got []string
			for _, b := range c.Beneficiaries {
				if slices.ContainsFunc(d.Listed, func(l rules.Listed) bool { return l.Prenom == b.Prenom }) ||
					slices.ContainsFunc(d.NotCovered, func(n *rules.Beneficiary) bool { return n.Prenom == b.Prenom }) {
					got = append(got, b.Prenom)
				}
			}
			if !slices.Equal(got, tc.who) {
				t.Errorf("designated %v, want %v", got, tc.who)
			}
		})
	}
}
