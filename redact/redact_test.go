package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestPseudonymIsKeyed(t *testing.T) {
	a, b := []byte("key one"), []byte("key two")
	if pseudonym(a, "eva.dupont@example.org") != pseudonym(a, "eva.dupont@example.org") {
		t.Error("one key, one value, two pseudonyms")
	}
	if pseudonym(a, "eva.dupont@example.org") == pseudonym(b, "eva.dupont@example.org") {
		t.Error("the pseudonym does not depend on the key")
	}
	if pseudonym(a, "eva.dupont@example.org") == pseudonym(a, "marc.leroy@example.com") {
		t.Error("two addresses, one pseudonym")
	}
	if maskAddr(a, "Eva.Dupont@Example.org ") != maskAddr(a, "eva.dupont@example.org") {
		t.Error("an address in other case gets another pseudonym")
	}
}

func TestScrub(t *testing.T) {
	r, err := New("attestation@cpam.example")
	if err != nil {
		t.Fatal(err)
	}
	eva := maskAddr(r.key, "eva.dupont@example.org")
	for in, want := range map[string]string{
		"550 5.1.1 <eva.dupont@example.org>: Recipient address rejected": "550 5.1.1 <" + eva + ">: Recipient address rejected",
		"rcpt EVA.DUPONT@EXAMPLE.ORG refused":                            "rcpt " + eva + " refused",
		"login attestation@cpam.example failed":                          "login attestation@cpam.example failed",
		"nir 290107511104250 unknown":                                    "nir NIR 2 ** ** ** *** *** 50 unknown",
		"NIR:2 93 08 2A 004 012 64.":                                     "NIR:NIR 2 ** ** ** *** *** 64.",
		"nir 2901075111042 without key":                                  "nir NIR *** without key",
		"uid 42, 3 attempts, 2026-11-25":                                 "uid 42, 3 attempts, 2026-11-25",
	} {
		if got := r.Scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestRedactHandler(t *testing.T) {
	r, err := New("attestation@cpam.example")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil)))
	log = log.With("to", "marc.leroy@example.com").WithGroup("g")
	log.Warn("send to ines.garcia@example.org failed",
		"err", fmt.Errorf("smtp: %w", errors.New("550 <eva.dupont@example.org> unknown")),
		"who", stringer{"karim.benali@example.com"},
		"list", []string{"sophie.martin@example.fr"},
		slog.Group("inner", "nir", "185066912308738"),
		"from", "attestation@cpam.example", "n", 3)
	out := buf.String()
	for _, leak := range []string{"marc.leroy", "ines.garcia", "eva.dupont", "karim.benali", "sophie.martin", "185066912308738"} {
		if strings.Contains(out, leak) {
			t.Errorf("the log holds %s: %s", leak, out)
		}
	}
	for _, keep := range []string{"attestation@cpam.example", `"n":3`, "550 <addr:", "NIR 1 ** ** ** *** *** 38"} {
		if !strings.Contains(out, keep) {
			t.Errorf("the log lost %q: %s", keep, out)
		}
	}
}
