package attestation

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/cpam/attestd/rules"
)

// AttestationFileName is the attachment name of the attestation, ASCII only
// (A-Z, 0-9, '-'), dated with the day of issue:
//
//	attestation-droits-PEIGNE-LEA-20261125.pdf          one beneficiary
//	attestation-droits-famille-PEIGNE-20261125.pdf      family
//
// It is a family attestation when the whole family was asked for
// (Decision.Family) or when more than one beneficiary is listed; the family
// name is then the ouvrant droit's. A person's name is the usage name when
// one is on file (the name people know them by), the family name otherwise.
// Accents are dropped ("LÉA" → "LEA"), ligatures spelled out ("Œ" → "OE"),
// and any other character becomes a dash. Each name is cut to
// maxFileNamePart characters, so that any name the registry allows gives a
// name the outbox accepts (at most 200 characters, SPEC section 6).
func AttestationFileName(in AttestationInput) string {
	date := rules.DateOf(in.IssuedAt).Compact()
	listed := in.Decision.Listed
	if in.Decision.Family || len(listed) != 1 {
		name := "INCONNU"
		if in.Compte != nil && in.Compte.Holder() != nil {
			name = asciiName(usualName(in.Compte.Holder()))
		}
		return "attestation-droits-famille-" + name + "-" + date + ".pdf"
	}
	b := listed[0].Beneficiary
	return "attestation-droits-" + asciiName(usualName(b)) + "-" + asciiName(b.Prenom) + "-" + date + ".pdf"
}

// usualName is the name b goes by: the usage name when set.
func usualName(b *rules.Beneficiary) string {
	if b == nil {
		return ""
	}
	if b.NomUsage != "" {
		return b.NomUsage
	}
	return b.NomFamille
}

// asciiLigatures spells out the letters that have no decomposition.
var asciiLigatures = strings.NewReplacer(
	"Œ", "OE", "œ", "OE", "Æ", "AE", "æ", "AE", "ß", "SS", "Ø", "O", "ø", "O",
	"Ł", "L", "ł", "L", "Đ", "D", "đ", "D", "Ð", "D", "ð", "D", "Þ", "TH", "þ", "TH", "ı", "I",
)

// maxFileNamePart bounds each name in the file name: the longest file name
// is then 19+40+1+40+1+8+4 = 113 characters.
const maxFileNamePart = 40

// asciiName upper-cases s, drops its accents and turns every run of other
// characters into one dash, keeping at most maxFileNamePart characters (cut
// at a dash when there is one in the last part). It never returns an empty
// string.
func asciiName(s string) string {
	var b strings.Builder
	dash := true // no leading dash
	for _, r := range norm.NFKD.String(asciiLigatures.Replace(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		default:
			if !dash {
				b.WriteByte('-')
				dash = true
			}
			continue
		}
		b.WriteRune(r)
		dash = false
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > maxFileNamePart {
		out = out[:maxFileNamePart]
		if i := strings.LastIndexByte(out, '-'); i > maxFileNamePart/2 {
			out = out[:i]
		}
		out = strings.TrimSuffix(out, "-")
	}
	if out == "" {
		return "INCONNU"
	}
	return out
}
