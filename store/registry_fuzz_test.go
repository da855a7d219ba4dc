package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cpam/attestd/templates/attestation"
	"github.com/cpam/attestd/templates/reply"

	"github.com/cpam/attestd/outbox"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// oddSeed is a one-compte registry at the edges of what the import allows:
// small, so that the fuzzer's mutations of it are cheap to run.
const oddSeed = `{"format": "attestd-registry/1",
 "organismes": [{"code": "01751", "regime": "01", "caisse": "751", "centre": "0000",
   "libelle": "CPAM « Paris » n° 1 – Bât. B", "adresse": ["21 rue Georges Auric", "75948 PARIS CEDEX 19"]}],
 "comptes": [{"id": "C.ODD_1-x", "email": "a.b+c@example.org", "organisme": "01751",
   "adresse": {"lignes": ["Bât. B, esc. 2 (c/o « Mme X »)", "{{.Reference}} <b>"], "code_postal": "AB-12", "commune": "SAINT-RÉMY"},
   "adresse_npai": false,
   "beneficiaires": [
    {"nir": "290107511104250", "nom_famille": "N’GUESSAN-KOUASSI D'ALMEIDA ŒSTERGÅRD", "nom_usage": "'-'A",
     "prenom": "Marie-Ève ǅemal ßß", "date_naissance": "1990-10-31", "rang_naissance": 1, "qualite": "assure",
     "droits": [{"date_debut": "2009-01-01", "date_fin": null}],
     "exonerations": [{"motif": "ALD", "date_debut": "2020-01-01", "date_fin": null}],
     "c2s": [{"date_debut": "2026-01-01", "date_fin": "2026-12-31"}]},
    {"nom_famille": "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW", "nom_usage": "",
     "prenom": "Ŀ", "date_naissance": "2015-03-02", "rang_naissance": 2, "qualite": "enfant",
     "droits": [{"date_debut": "2015-03-02", "date_fin": null}]}]}]}`

// FuzzRegistryRenders: whatever the import accepts renders and composes.
// For every compte, the attestation listing the whole family renders; for
// every beneficiary, the attestation's file name, the reply the rules give
// to a request naming him, and the composed message with its attachment
// are accepted by the outbox. A registry that the import refuses is the
// import's business: nothing more is asked of it.
func FuzzRegistryRenders(f *testing.F) {
	f.Add(samples.Registry())
	f.Add([]byte(oddSeed))
	pdf, err := attestation.NewPDFRenderer()
	if err != nil {
		f.Fatal(err)
	}
	replies, err := reply.LoadReplies("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := store.ParseRegistry(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := range reg.Comptes {
			checkCompteRenders(t, pdf, replies, &reg.Comptes[i])
		}
	})
}

func TestOddSeedImports(t *testing.T) {
	if _, err := store.ParseRegistry(bytes.NewReader([]byte(oddSeed))); err != nil {
		t.Fatalf("the fuzz seed is refused, so the fuzzer would start from nothing: %v", err)
	}
}

func checkCompteRenders(t *testing.T, pdf *attestation.PDFRenderer, replies *reply.Replies, c *rules.Compte) {
	t.Helper()
	issuedAt := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	today := rules.DateOf(issuedAt)
	const ref = "AD-20261125-ABCDEFGHIJ"
	var all []rules.Listed
	for i := range c.Beneficiaries {
		b := &c.Beneficiaries[i]
		l := rules.Listed{Beneficiary: b, Rights: rules.Period{Start: b.DateNaissance}}
		if len(b.ETM) > 0 {
			l.ETM = &b.ETM[0].Period
		}
		if len(b.C2S) > 0 {
			l.C2S = &b.C2S[0]
		}
		all = append(all, l)
	}
	var doc *attestation.Document
	if c.Adresse != nil {
		var err error
		doc, err = pdf.Render(attestation.AttestationInput{Compte: c,
			Decision: rules.Decision{Outcome: rules.Issued, Family: true, Listed: all}, Reference: ref, IssuedAt: issuedAt})
		if err != nil {
			t.Fatalf("compte %s: the family attestation does not render: %v", c.ID, err)
		}
	}
	for i, l := range all {
		dec := rules.Decide(c, rules.Request{Targets: []rules.Target{{FirstName: l.Prenom, Birth: l.DateNaissance}}}, today)
		var att *outbox.Attachment
		fileName := ""
		if doc != nil {
			// The family's PDF stands for this beneficiary's: it prints
			// the same row for him.
			fileName = attestation.AttestationFileName(attestation.AttestationInput{Compte: c,
				Decision: rules.Decision{Outcome: rules.Issued, Listed: all[i : i+1]}, Reference: ref, IssuedAt: issuedAt})
			att = &outbox.Attachment{Name: fileName, Data: doc.Bytes}
		}
		body, err := replies.Personal(reply.NewPersonalData(c, dec, ref, fileName, reply.DefaultServiceInfo()))
		if err != nil {
			t.Fatalf("compte %s beneficiaires[%d]: the %s reply does not render: %v", c.ID, i, dec.Outcome, err)
		}
		_, _, err = outbox.Compose(outbox.Reply{ID: "ad-20261125-abcdefghij", MessageIDDomain: "cpam.example",
			From: "attestation@cpam.example", To: c.Email, Subject: "Attestation de droits", Outcome: string(dec.Outcome),
			Text: body.Text, HTML: body.HTML, Attachment: att, Date: issuedAt})
		if err != nil {
			t.Fatalf("compte %s beneficiaires[%d]: the reply does not compose: %v", c.ID, i, err)
		}
	}
}
