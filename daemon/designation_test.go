package daemon_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/rules"
)

// TestNeverTheAuthorForSomeoneElse: a request that designates someone the
// compte cannot resolve is answered beneficiary_unknown or
// beneficiary_ambiguous, listing who is on the compte, and never with the
// author's own attestation (issue 15 items 2 to 4). Through IMAP and SMTP.
func TestNeverTheAuthorForSomeoneElse(t *testing.T) {
	r := newTrustRun(t, testConfig(t), daemon.Options{})
	const benoit, karim = "benoit.peigne@example.net", "karim.benali@example.com"
	send := func(t *testing.T, from, body string) (daemon.Result, []sentMail) {
		t.Helper()
		raw, _ := r.raw(request{from: from, headers: []string{arPass(from[strings.Index(from, "@")+1:])}, body: body})
		return r.send(t, raw)
	}
	refused := []struct {
		name, from, body string
		outcome          rules.Outcome
		listed           []string // the compte's beneficiaries, as the reply lists them
	}{
		{"his mother", benoit, "Bonjour,\nPourriez-vous m'envoyer l'attestation de droits de ma mère ?\nBenoît Peigne\n",
			rules.BeneficiaryUnknown, []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}},
		{"his grandson", benoit, "Bonjour, l'attestation de droits de mon petit-fils svp.\nBenoît\n",
			rules.BeneficiaryUnknown, []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}},
		{"a first name not on the compte", benoit, "Bonjour, une attestation de droits pour Jules, merci.\n",
			rules.BeneficiaryUnknown, []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}},
		{"twins he does not have", karim, "Bonjour,\nJe voudrais les attestations de droits des jumeaux.\nKarim Benali\n",
			rules.BeneficiaryUnknown, []string{"KARIM", "ADAM", "NORA"}},
		{"himself and twins he does not have", karim, "Bonjour, une attestation pour moi et les jumeaux.\n",
			rules.BeneficiaryUnknown, []string{"KARIM", "ADAM", "NORA"}},
		{"the elder daughter, whose elder is a son", karim, "Bonjour, l'attestation de droits de l'aînée svp.\n",
			rules.BeneficiaryAmbiguous, []string{"KARIM", "ADAM", "NORA"}},
		{"the elder of twins", benoit, "Bonjour, l'attestation de droits de l'aîné svp.\n",
			rules.BeneficiaryAmbiguous, []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			res, rs := send(t, c.from, c.body)
			rp := readReply(t, expectReply(t, res, rs, c.outcome, c.from))
			if rp.pdf != nil {
				t.Fatalf("an attestation went out (%s) for a request naming someone else", rp.pdfName)
			}
			for _, name := range c.listed {
				if !strings.Contains(rp.text, "- "+name+" ") {
					t.Errorf("the reply does not list %s:\n%s", name, rp.text)
				}
			}
		})
	}
	issued := []struct {
		name, from, body string
		want             []string // on the attestation, sorted
	}{
		{"the twins", benoit, "Bonjour, les attestations de droits des jumeaux svp.\n", []string{"LUCAS", "LÉA"}},
		{"himself and the twins", benoit, "Bonjour, une attestation de droits pour moi et les jumeaux.\n", []string{"BENOIT", "LUCAS", "LÉA"}},
		{"his wife", benoit, "Bonjour, l'attestation de droits de ma femme svp.\n", []string{"CLAIRE"}},
		{"the youngest", karim, "Bonjour, l'attestation de droits du plus jeune svp.\n", []string{"NORA"}},
		{"an agent: the child by NIR", agentAddr, "Bonjour,\nAttestation de droits pour l'enfant NIR " + rules.FormatNIR(nirLucas) + ".\nL'agent d'accueil\n",
			[]string{"LUCAS"}},
		// A shared address: the date of birth in words tells the comptes apart.
		{"Thomas by his birth date in words", "famille.rousseau@example.com",
			"Bonjour, je suis né le 30 avril 81, pouvez-vous m'envoyer mon attestation de droits ?\n", []string{"THOMAS"}},
		{"Julie by her birth date in words", "famille.rousseau@example.com",
			"Bonjour, je suis née le 8 JUILLET 1983, mon attestation de droits svp.\n", []string{"JULIE"}},
	}
	for _, c := range issued {
		t.Run(c.name, func(t *testing.T) {
			res, rs := send(t, c.from, c.body)
			m := expectReply(t, res, rs, rules.Issued, c.from)
			if got := pdfBeneficiaries(t, m); !slices.Equal(got, c.want) {
				t.Errorf("attestation for %v, want %v", got, c.want)
			}
		})
	}
}
