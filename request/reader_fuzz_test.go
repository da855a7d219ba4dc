package request

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cpam/attestd/rules"
)

// FuzzRead: no text panics Read, and what it returns is well formed.
func FuzzRead(f *testing.F) {
	for _, c := range readCases {
		f.Add(c.subject, c.text)
	}
	f.Add("Re: TR: attestation", "1 85 06 69 123 087 38 2A 2B 31/02/2015 1er juin 2012 -- \n> x")
	opts := &ReadOptions{Known: []string{"LÉA", "MARIE-ANGE", "JEAN PIERRE", ""}, Today: rules.MustDate("2026-11-25")}
	f.Fuzz(func(t *testing.T, subject, text string) {
		r := Read(subject, text, opts)
		if r.Request.Family && len(r.Request.Targets) > 0 {
			t.Errorf("Family with targets %+v", r.Request.Targets)
		}
		for _, n := range r.NIRs {
			if len(n.Normalized) != 13 && len(n.Normalized) != 15 {
				t.Errorf("NIR %q has %d characters", n.Normalized, len(n.Normalized))
			}
			if _, err := rules.CheckNIR(n.Normalized); n.Valid != (err == nil) {
				t.Errorf("NIR %q: Valid = %v, CheckNIR says %v", n.Normalized, n.Valid, err)
			}
		}
		for _, tg := range r.Request.Targets {
			if tg == (rules.Target{}) || !utf8.ValidString(tg.FirstName) || strings.ContainsAny(tg.FirstName, "\n\r") {
				t.Errorf("malformed target %+v", tg)
			}
		}
		for _, n := range r.Author.FirstNames {
			if n == "" || strings.ContainsAny(n, " \n") {
				t.Errorf("malformed author name %q", n)
			}
		}
	})
}
