package store

import (
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cpam/attestd/rules"
)

// Validate checks a registry as ImportRegistry needs it: every NIR well
// formed with its key, no NIR twice, compte ids unique, e-mails valid,
// organisme references known, qualités known, dates present and periods in
// order, exactly one ouvrant droit per compte. It returns ValidationErrors
// (without line numbers) or nil. ParseRegistry runs the same checks.
func (r *Registry) Validate() error {
	v := newValidator()
	v.registry(r, recordLines{})
	return v.err()
}

// validator collects problems, one per field: the first one said about a
// field (a date that does not parse) hides later ones (the same date then
// "missing").
type validator struct {
	problems ValidationErrors
	seen     map[string]bool
}

func newValidator() *validator { return &validator{seen: map[string]bool{}} }

func (v *validator) add(e *ValidationError) {
	key := fmt.Sprintf("%d\x00%s\x00%s", e.Line, e.CompteID, e.Field)
	if v.seen[key] {
		return
	}
	v.seen[key] = true
	v.problems = append(v.problems, e)
}

// err returns the problems in file order, or nil.
func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
	return v.problems
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// registry checks the whole registry; lines may be empty.
func (v *validator) registry(reg *Registry, lines recordLines) {
	orgs := map[string]bool{}
	for i := range reg.Organismes {
		v.organisme(i, &reg.Organismes[i], lineAt(lines.organismes, i), orgs)
	}
	if len(reg.Comptes) == 0 {
		v.add(&ValidationError{Field: "comptes", Problem: "no compte: importing this would empty the registry"})
	}
	ids := map[string]int{}     // compte id → index
	nirs := map[string]string{} // NIR → where it was first seen
	for i := range reg.Comptes {
		c := &reg.Comptes[i]
		line := lineAt(lines.comptes, i)
		cv := compteValidator{v: v, id: c.ID, line: line}
		if !validCompteID(c.ID) {
			// An id that breaks the rule is not printed: the compte is
			// named by its place in the file.
			cv.id, cv.prefix = "", fmt.Sprintf("comptes[%d].", i)
		}
		switch {
		case strings.TrimSpace(c.ID) == "":
			cv.add("id", "missing")
		case !validCompteID(c.ID):
			cv.add("id", checkText(c.ID, maxCompteID, idRune, ruleID))
		default:
			if j, dup := ids[c.ID]; dup {
				cv.add("id", fmt.Sprintf("duplicate compte id (also comptes[%d]%s)", j, atLine(lineAt(lines.comptes, j))))
			} else {
				ids[c.ID] = i
			}
		}
		cv.compte(c, orgs, nirs)
	}
}

func atLine(line int) string {
	if line == 0 {
		return ""
	}
	return fmt.Sprintf(" at line %d", line)
}

func (v *validator) organisme(i int, o *rules.Organisme, line int, seen map[string]bool) {
	add := func(field, problem string) {
		v.add(&ValidationError{Field: fmt.Sprintf("organismes[%d].%s", i, field), Problem: problem, Line: line})
	}
	switch {
	case o.Code == "":
		add("code", "missing")
	case checkText(o.Code, maxOrgCode, idRune, ruleID) != "":
		add("code", checkText(o.Code, maxOrgCode, idRune, ruleID))
	case seen[o.Code]:
		add("code", "duplicate organisme code")
	default:
		seen[o.Code] = true
	}
	for _, f := range []struct {
		name, value string
		n           int
	}{{"regime", o.Regime, 2}, {"caisse", o.Caisse, 3}, {"centre", o.Centre, 4}} {
		if len(f.value) != f.n || strings.Trim(f.value, "0123456789") != "" {
			add(f.name, fmt.Sprintf("want %d digits", f.n))
		}
	}
	if strings.TrimSpace(o.Libelle) == "" {
		add("libelle", "missing")
	} else if p := checkText(o.Libelle, maxLibelle, textRune, ruleText); p != "" {
		add("libelle", p)
	}
	if blank(o.Adresse) {
		add("adresse", "missing: the attestation prints the organisme's postal address")
	}
	addressLines(o.Adresse, "adresse", add)
}

// addressLines checks the lines of a postal address: how many, and each
// one's length and characters.
func addressLines(lines []string, field string, add func(field, problem string)) {
	if len(lines) > maxLines {
		add(field, fmt.Sprintf("too many lines: %d, at most %d", len(lines), maxLines))
	}
	for i, l := range lines {
		if p := checkText(l, maxLine, textRune, ruleText); p != "" {
			add(fmt.Sprintf("%s[%d]", field, i), p)
		}
	}
}

// blank reports whether lines hold no text at all.
func blank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

// compteValidator checks one compte; its problems name the compte.
type compteValidator struct {
	v      *validator
	id     string
	prefix string // field prefix when the compte has no id
	line   int
}

func (cv compteValidator) add(field, problem string) {
	cv.v.add(&ValidationError{CompteID: cv.id, Field: cv.prefix + field, Problem: problem, Line: cv.line})
}

func (cv compteValidator) compte(c *rules.Compte, orgs map[string]bool, nirs map[string]string) {
	cv.email(c.Email)
	switch {
	case c.Organisme.Code == "":
		cv.add("organisme", "missing")
	case !orgs[c.Organisme.Code]:
		cv.add("organisme", "unknown organisme: not one of the organismes' codes")
	}
	if a := c.Adresse; a != nil {
		if blank(a.Lignes) {
			cv.add("adresse.lignes", "empty: write \"adresse\": null when there is no postal address")
		}
		addressLines(a.Lignes, "adresse.lignes", cv.add)
		if p := checkText(a.CodePostal, maxCodePostal, codeRune, ruleCode); p != "" {
			cv.add("adresse.code_postal", p)
		}
		if strings.TrimSpace(a.Commune) == "" {
			cv.add("adresse.commune", "missing")
		} else if p := checkText(a.Commune, maxCommune, textRune, ruleText); p != "" {
			cv.add("adresse.commune", p)
		}
	}
	if len(c.Beneficiaries) == 0 {
		cv.add("beneficiaires", "no beneficiary: a compte has at least its ouvrant droit")
		return
	}
	holder := -1
	for i := range c.Beneficiaries {
		b := &c.Beneficiaries[i]
		f := fmt.Sprintf("beneficiaires[%d]", i)
		if b.Qualite == rules.QualiteAssure {
			if holder >= 0 {
				cv.add(f+".qualite", fmt.Sprintf("a second %q: beneficiaires[%d] is already the ouvrant droit", rules.QualiteAssure, holder))
			} else {
				holder = i
			}
		}
		cv.beneficiary(f, b, nirs)
		for j := range i {
			o := &c.Beneficiaries[j]
			if !b.DateNaissance.IsZero() && b.DateNaissance == o.DateNaissance && b.Rang == o.Rang {
				cv.add(f+".rang_naissance", fmt.Sprintf("same date of birth and rang as beneficiaires[%d]: twins need distinct rangs", j))
			}
		}
	}
	if holder < 0 {
		cv.add("beneficiaires", fmt.Sprintf("no beneficiary has qualite %q: a compte needs its ouvrant droit", rules.QualiteAssure))
	}
}

// email checks the address on file. Problems do not quote it, nor the
// parser's error, which may.
func (cv compteValidator) email(s string) {
	switch {
	case s == "":
		cv.add("email", "missing")
		return
	case len(s) > maxEmail:
		cv.add("email", fmt.Sprintf("too long: %d bytes, at most %d", len(s), maxEmail))
		return
	case strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) >= 0:
		cv.add("email", "not an e-mail address: want printable ASCII, such as name@example.org")
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		cv.add("email", "not an e-mail address: want one address such as name@example.org")
		return
	}
	if a.Name != "" || a.Address != s {
		cv.add("email", "want a bare address such as name@example.org, without a display name or angle brackets")
	}
}

func (cv compteValidator) beneficiary(f string, b *rules.Beneficiary, nirs map[string]string) {
	where := fmt.Sprintf("compte %s %s", cv.id, f)
	if cv.id == "" {
		where = cv.prefix + f
	}
	switch n, err := rules.CheckNIR(b.NIR); {
	case len(b.NIR) > maxNIR:
		cv.add(f+".nir", fmt.Sprintf("too long: %d characters, at most %d", utf8.RuneCountInString(b.NIR), maxNIR))
	case b.NIR == "":
		if b.Qualite == rules.QualiteAssure {
			cv.add(f+".nir", "missing: the ouvrant droit needs his NIR")
		}
	case errors.Is(err, rules.ErrNIRKey):
		body := rules.NormalizeNIR(b.NIR)[:13]
		want, _ := rules.NIRKey(body)
		cv.add(f+".nir", fmt.Sprintf("key %s does not match (expected %s)", rules.NormalizeNIR(b.NIR)[13:], want))
	case err != nil:
		cv.add(f+".nir", err.Error())
	default:
		if first, dup := nirs[n]; dup {
			cv.add(f+".nir", "duplicate NIR: already held by "+first)
		} else {
			nirs[n] = where
		}
	}
	cv.name(f+".nom_famille", b.NomFamille, true)
	cv.name(f+".nom_usage", b.NomUsage, false)
	cv.name(f+".prenom", b.Prenom, true)
	if b.DateNaissance.IsZero() {
		cv.add(f+".date_naissance", "missing")
	}
	if b.Rang < 1 {
		cv.add(f+".rang_naissance", fmt.Sprintf("want 1 or more, got %d", b.Rang))
	}
	if !b.Qualite.Valid() {
		cv.add(f+".qualite", fmt.Sprintf("unknown qualité: want %s, %s, %s or %s",
			rules.QualiteAssure, rules.QualiteConjoint, rules.QualiteEnfant, rules.QualiteAutre))
	}
	for i, p := range b.Droits {
		cv.period(fmt.Sprintf("%s.droits[%d]", f, i), p)
	}
	for i, e := range b.ETM {
		cv.period(fmt.Sprintf("%s.exonerations[%d]", f, i), e.Period)
		if p := checkText(e.Motif, maxMotif, textRune, ruleText); p != "" {
			cv.add(fmt.Sprintf("%s.exonerations[%d].motif", f, i), p)
		}
	}
	for i, p := range b.C2S {
		cv.period(fmt.Sprintf("%s.c2s[%d]", f, i), p)
	}
}

// name checks a person's name; an optional one may be empty.
func (cv compteValidator) name(field, s string, required bool) {
	switch {
	case strings.TrimSpace(s) == "" && required:
		cv.add(field, "missing")
	case s == "":
	default:
		if p := checkName(s); p != "" {
			cv.add(field, p)
		}
	}
}

func (cv compteValidator) period(f string, p rules.Period) {
	if p.Start.IsZero() {
		cv.add(f+".date_debut", "missing")
		return
	}
	if !p.OpenEnded() && p.End.Before(p.Start) {
		cv.add(f+".date_fin", "before date_debut: a period ends on or after its start")
	}
}
