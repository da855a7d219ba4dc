package acceptance

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// privacy finds personal data in replies that must carry none (SPEC: the
// generic replies to an unknown or ambiguous sender). With a registry it
// looks for the registry's own data; without, for what looks like a NIR or
// a date of birth. It never says which value it found, only what kind and
// whose: the report may be shared.
type privacy struct {
	comptes []personal
}

// personal is the data of one compte that a generic reply must not show.
type personal struct {
	// which names the compte by its rank in the registry file: its ID may
	// be made of personal data.
	which string
	// words are matched as whole words, folded (case, accents, punctuation).
	words map[string]string // folded words -> what they are
	// exact are matched as written.
	exact map[string]string // value -> what it is
}

func newPrivacy(reg *store.Registry) *privacy {
	p := &privacy{}
	if reg == nil {
		return p
	}
	for i, c := range reg.Comptes {
		pc := personal{which: fmt.Sprintf("compte #%d of the registry", i+1), words: map[string]string{}, exact: map[string]string{}}
		if c.Email != "" {
			pc.exact[c.Email] = "the e-mail address"
		}
		if a := c.Adresse; a != nil {
			for _, l := range a.Lignes {
				pc.words[foldWords(l)] = "an address line"
			}
			pc.words[foldWords(a.CodePostal+" "+a.Commune)] = "the postcode and town"
		}
		for _, b := range c.Beneficiaries {
			for _, n := range []string{b.Prenom, b.NomFamille, b.NomUsage} {
				if strings.TrimSpace(n) != "" {
					pc.words[foldWords(n)] = "a beneficiary's name"
				}
			}
			if b.NIR != "" {
				pc.exact[b.NIR] = "a NIR"
				pc.exact[rules.FormatNIR(b.NIR)] = "a NIR"
			}
			if !b.DateNaissance.IsZero() {
				pc.exact[b.DateNaissance.French()] = "a date of birth"
				pc.exact[b.DateNaissance.String()] = "a date of birth"
			}
		}
		p.comptes = append(p.comptes, pc)
	}
	return p
}

// nirLike matches 13 or 15 characters written like a NIR (sex, year, month,
// department — 2A and 2B for Corsica —, commune, order, key), with or
// without single spaces between the groups.
var nirLike = regexp.MustCompile(`\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AaBb]) ?\d{3} ?\d{3}(?: ?\d{2})?\b`)

// dateLike matches a date written in full: 31/10/1990, 31.10.1990,
// 1990-10-31, 31 octobre 1990, 1er mars 1985.
var dateLike = regexp.MustCompile(`(?i)\b(?:\d{1,2}[/.]\d{1,2}[/.]\d{4}|\d{4}-\d{2}-\d{2}|(?:1er|\d{1,2}) (?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre) \d{4})\b`)

// leaks describes the personal data found in a reply's texts.
func (p *privacy) leaks(rp *reply) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, body := range []string{rp.text, rp.html} {
		if len(p.comptes) == 0 {
			if nirLike.MatchString(body) {
				add("a number written like a NIR")
			}
			if dateLike.MatchString(body) {
				add("a date written like a date of birth")
			}
			continue
		}
		folded := foldWords(body)
		for _, c := range p.comptes {
			for w, what := range c.words {
				if w != "  " && strings.Contains(folded, w) {
					add(what + " of " + c.which)
				}
			}
			for v, what := range c.exact {
				if strings.Contains(body, v) {
					add(what + " of " + c.which)
				}
			}
		}
	}
	if len(rp.pdfs) > 0 {
		add(fmt.Sprintf("%d PDF attached", len(rp.pdfs)))
	}
	sort.Strings(out)
	return out
}

// foldWords folds s for a whole-word search: upper case, no accents, every
// other character than a letter or a digit a space, padded with spaces.
func foldWords(s string) string {
	f := []rune(rules.FoldName(s))
	for i, c := range f {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			f[i] = ' '
		}
	}
	return " " + strings.Join(strings.Fields(string(f)), " ") + " "
}
