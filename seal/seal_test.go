package seal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

var today = rules.MustDate("2026-11-25")

// newKey generates a key pair valid from..until and returns its signer and
// its trusted public key.
func newKey(t testing.TB, keyID, from, until string) (*Signer, KeyRing) {
	t.Helper()
	var u rules.Date
	if until != "" {
		u = rules.MustDate(until)
	}
	priv, pub, err := GenerateKey(rand.Reader, "CPAM", keyID, rules.MustDate(from), u)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(priv, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ParsePublicKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, ring
}

// sampleContents are the contents of every attestation the sample registry
// can give at the sample date: each compte's family with both mentions asked,
// and each beneficiary alone.
func sampleContents(t testing.TB) map[string]Content {
	t.Helper()
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Content{}
	for i := range reg.Comptes {
		c := &reg.Comptes[i]
		reqs := map[string]rules.Request{c.ID + "/famille": {Family: true, ETM: true, C2S: true}}
		for _, b := range c.Beneficiaries {
			reqs[c.ID+"/"+b.Prenom] = rules.Request{Targets: []rules.Target{{FirstName: b.Prenom, Birth: b.DateNaissance}}, ETM: true}
		}
		for name, req := range reqs {
			if d := rules.Decide(c, req, today); d.Outcome == rules.Issued {
				out[name] = FromDecision(c, d, "AD-20261125-"+strings.ToUpper(c.ID[2:]), today)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d sample attestations", len(out))
	}
	return out
}

func TestRoundTripEverySampleAttestation(t *testing.T) {
	s, ring := newKey(t, "K001", "2026-01-01", "2029-12-31")
	for name, c := range sampleContents(t) {
		code, err := s.Seal(c, today)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v, err := ring.Verify(code, today)
		if err != nil {
			t.Fatalf("%s: %v\n%q", name, err, code)
		}
		want := c
		want.Issuer, want.KeyID, want.SignedOn = "CPAM", "K001", today
		if !reflect.DeepEqual(v.Content, want) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", name, v.Content, want)
		}
		if v.Key.KeyID != "K001" {
			t.Errorf("%s: verified by key %s", name, v.Key.KeyID)
		}
	}
}

func TestPeigneFamilyInFrench(t *testing.T) {
	s, ring := newKey(t, "K001", "2026-01-01", "")
	c := sampleContents(t)["C-BENOIT/famille"]
	code, err := s.Seal(c, today)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ring.Verify(code, today)
	if err != nil {
		t.Fatal(err)
	}
	got := v.Content.French()
	for _, want := range []string{
		"Référence : AD-20261125-BENOIT\n",
		"Délivrée le 25/11/2026, signée le 25/11/2026 par l'émetteur CPAM\n",
		"Bénéficiaires (4) :\n",
		"- BENOIT PEIGNE, né(e) le ", "- CLAIRE MOREAU (nom d'usage PEIGNE), né(e)", "- LEA PEIGNE", "- LUCAS PEIGNE",
		"    complémentaire santé solidaire (C2S) du ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the French text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(strings.ToLower(got), "motif") || strings.Contains(code, "ALD") {
		t.Errorf("a motif shows:\n%s", got)
	}
}

// TestOneCharacterChanged changes each character of a code in turn: no such
// code verifies. Changing the issuer or the key id names another key, which
// is unknown; any other change breaks the signature or the format.
func TestOneCharacterChanged(t *testing.T) {
	s, ring := newKey(t, "K001", "2026-01-01", "")
	code, err := s.Seal(sampleContents(t)["C-BENOIT/famille"], today)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(code) {
		for _, repl := range []byte{'A', '7', 'Z', 0x1d} {
			if code[i] == repl {
				continue
			}
			bad := code[:i] + string(repl) + code[i+1:]
			_, err := ring.Verify(bad, today)
			want := ErrInvalid
			if i >= 4 && i < 12 {
				want = ErrUnknownKey
			}
			if !errors.Is(err, want) {
				t.Fatalf("character %d (%q) changed to %q: got %v, want %v", i, code[i], repl, err, want)
			}
		}
	}
	if _, err := ring.Verify(code[:len(code)-1], today); !errors.Is(err, ErrInvalid) {
		t.Errorf("a code cut by one character: %v", err)
	}
	if _, err := ring.Verify(code+"A", today); !errors.Is(err, ErrInvalid) {
		t.Errorf("a code with one more character: %v", err)
	}
}

func TestUntrustedKeyIsUnknown(t *testing.T) {
	s, _ := newKey(t, "K001", "2026-01-01", "")
	_, other := newKey(t, "K002", "2026-01-01", "")
	code, err := s.Seal(sampleContents(t)["C-EVA/famille"], today)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(code, today); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("verified by another key: %v", err)
	}
	// Another key that claims the same id does not verify it either.
	_, impostor := newKey(t, "K001", "2026-01-01", "")
	if _, err := impostor.Verify(code, today); !errors.Is(err, ErrInvalid) {
		t.Errorf("verified by another key with the same id: %v", err)
	}
}

// TestRotation: the old key signed in 2026 and ends in 2027; the new key
// signs from 2027. Both are trusted: old codes verify until the old key's
// end, then are expired; new codes verify.
func TestRotation(t *testing.T) {
	old, oldPub := newKey(t, "K001", "2026-01-01", "2027-06-30")
	cur, curPub := newKey(t, "K002", "2027-01-01", "2030-12-31")
	ring := append(append(KeyRing{}, oldPub...), curPub...)
	c := sampleContents(t)["C-BENOIT/famille"]
	oldCode, err := old.Seal(c, today)
	if err != nil {
		t.Fatal(err)
	}
	newCode, err := cur.Seal(c, rules.MustDate("2027-02-01"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code, day string
		want      error
		key       string
	}{
		{oldCode, "2026-11-25", nil, "K001"},
		{oldCode, "2027-06-30", nil, "K001"},
		{oldCode, "2027-07-01", ErrExpiredKey, ""},
		{newCode, "2027-07-01", nil, "K002"},
	} {
		v, err := ring.Verify(tc.code, rules.MustDate(tc.day))
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("on %s: %v, want %v", tc.day, err, tc.want)
		case tc.want == nil && (err != nil || v.Key.KeyID != tc.key):
			t.Errorf("on %s: %v, want valid by %s", tc.day, err, tc.key)
		}
	}
	// A code the old key signed after its end is expired even on that day.
	late, err := old.Seal(c, rules.MustDate("2027-08-01"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Verify(late, rules.MustDate("2027-08-01")); !errors.Is(err, ErrExpiredKey) {
		t.Errorf("signed after the key's end: %v", err)
	}
}

// bigContent is a made-up family of n with long names, a usage name for the
// first and both mentions for all.
func bigContent(n int) Content {
	c := Content{IssuedOn: today, Reference: "AD-20261125-ABCDEFGHIJ", NIR: "185066912308738"}
	p := rules.Period{Start: rules.MustDate("2026-01-01"), End: rules.MustDate("2026-12-31")}
	for i := range n {
		c.Beneficiaries = append(c.Beneficiaries, Beneficiary{
			Nom: "FONTAINE-MARTIN", Prenom: fmt.Sprintf("JEAN-BAPTISTE%c", 'A'+i),
			Naissance: rules.MustDate("2010-05-17"), Rang: i + 1, Droits: p, ETM: &p, C2S: &p,
		})
	}
	c.Beneficiaries[0].NomUsage = "DURAND"
	return c
}

func TestFamilyOfEightFitsAndMoreAreCounted(t *testing.T) {
	s, ring := newKey(t, "K001", "2026-01-01", "")
	code, err := s.Seal(bigContent(8), today)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ring.Verify(code, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Content.Beneficiaries) != 8 || v.Content.More != 0 {
		t.Errorf("family of 8: %d in the code, %d left out", len(v.Content.Beneficiaries), v.Content.More)
	}
	code, err = s.Seal(bigContent(20), today)
	if err != nil {
		t.Fatal(err)
	}
	if n := Codewords(code); n > MaxCodewords {
		t.Errorf("%d codewords", n)
	}
	v, err = ring.Verify(code, today)
	if err != nil {
		t.Fatal(err)
	}
	kept := len(v.Content.Beneficiaries)
	if kept < 8 || kept+v.Content.More != 20 {
		t.Errorf("family of 20: %d in the code, %d left out", kept, v.Content.More)
	}
	if want := fmt.Sprintf("- et %d autres bénéficiaires", v.Content.More); !strings.Contains(v.Content.French(), want) {
		t.Errorf("the French text does not say %q", want)
	}
}

func TestSealIsDeterministic(t *testing.T) {
	s, _ := newKey(t, "K001", "2026-01-01", "")
	c := sampleContents(t)["C-BENOIT/famille"]
	a, _ := s.Seal(c, today)
	b, _ := s.Seal(c, today)
	if a != b || a == "" {
		t.Error("two seals of the same content differ")
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Léa": "LEA", "Marie-Ange": "MARIE-ANGE", "  d’Artagnan  ": "D'ARTAGNAN", "Œdipe": "OEDIPE",
		"Ç@a  va": "C A VA", "": "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKeyFiles(t *testing.T) {
	priv, pub, err := GenerateKey(rand.Reader, "CPAM", "", today, rules.MustDate("2029-11-25"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(priv, "CPAM", "")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ParsePublicKeys(append(pub, pub...))
	if err != nil || len(ring) != 2 || ring[0].KeyID != s.KeyID() || ring[0].Until != rules.MustDate("2029-11-25") {
		t.Fatalf("%v %+v", err, ring)
	}
	if _, err := ParseSigner(priv, "CPAM", "ZZZZ"); err == nil {
		t.Error("a configured key id that the file contradicts is accepted")
	}
	if _, err := ParsePublicKeys(priv); err == nil {
		t.Error("a private key is read as a public one")
	}
}
