package seal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

// Content is what the code says: the header's issuer, key and dates, and the
// attestation's fields.
type Content struct {
	Issuer string // four characters, A-Z 0-9
	KeyID  string // four characters, A-Z 0-9
	// IssuedOn is the date of issue; SignedOn the date of signature.
	IssuedOn, SignedOn rules.Date
	Reference          string
	NIR                string // the assuré(e)'s, 15 digits
	Beneficiaries      []Beneficiary
	// More counts the beneficiaries the document lists but the code leaves
	// out, for lack of room.
	More int
}

// Beneficiary is one listed beneficiary as the code holds him: names as
// 2D-Doc writes them (upper case, no accents), his rights and the granted
// mentions with their periods.
type Beneficiary struct {
	Nom, NomUsage, Prenom string
	Naissance             rules.Date
	Rang                  int
	Droits                rules.Period
	ETM, C2S              *rules.Period
}

// Separators of 2D-Doc.
const (
	gs = "\x1d" // ends a variable-length field
	us = "\x1f" // ends the message; the signature follows
)

// The header's constant parts.
const (
	marker    = "DC04"
	docType   = "AD"
	perimeter = "01"
	country   = "FR"
	headerLen = 26
)

// ErrMalformed is wrapped by Parse when a code is not a message of this
// package: truncated, an unknown field, a bad date.
var ErrMalformed = errors.New("malformed code")

// FromDecision is the content of the attestation of decision d for compte c:
// its reference and date of issue, the assuré(e)'s NIR and every listed
// beneficiary. The header's issuer, key and signature date are the signer's.
func FromDecision(c *rules.Compte, d rules.Decision, reference string, issued rules.Date) Content {
	ct := Content{IssuedOn: issued, Reference: reference}
	if h := c.Holder(); h != nil {
		ct.NIR = h.NIR
	}
	for _, l := range d.Listed {
		ct.Beneficiaries = append(ct.Beneficiaries, Beneficiary{
			Nom: Fold(l.NomFamille), NomUsage: Fold(l.NomUsage), Prenom: Fold(l.Prenom),
			Naissance: l.DateNaissance, Rang: l.Rang, Droits: l.Rights, ETM: l.ETM, C2S: l.C2S,
		})
	}
	return ct
}

// message writes the header and fields of c: what is signed.
func (c Content) message() (string, error) {
	if !isID(c.Issuer) || !isID(c.KeyID) {
		return "", fmt.Errorf("seal: issuer %q and key id %q must be four characters A-Z or 0-9", c.Issuer, c.KeyID)
	}
	if !printableASCII(c.Reference) || c.Reference == "" {
		return "", fmt.Errorf("seal: the reference %q is not printable ASCII", c.Reference)
	}
	if !isNIR(c.NIR) {
		return "", errors.New("seal: the assuré(e)'s NIR is not 15 characters (digits, 2A or 2B)")
	}
	if c.More < 0 || c.More > 99 {
		return "", fmt.Errorf("seal: %d beneficiaries left out: at most 99", c.More)
	}
	var b strings.Builder
	b.WriteString(marker + c.Issuer + c.KeyID + hexDays(c.IssuedOn) + hexDays(c.SignedOn) + docType + perimeter + country)
	b.WriteString("RF" + c.Reference + gs + "DE" + dmy(c.IssuedOn) + "NA" + c.NIR)
	for _, p := range c.Beneficiaries {
		if err := p.write(&b); err != nil {
			return "", err
		}
	}
	if c.More > 0 {
		fmt.Fprintf(&b, "PL%02d", c.More)
	}
	return b.String(), nil
}

// write adds p's fields to b.
func (p Beneficiary) write(b *strings.Builder) error {
	for _, s := range []string{p.Nom, p.NomUsage, p.Prenom} {
		if s != Fold(s) {
			return fmt.Errorf("seal: name %q is not folded (seal.Fold)", s)
		}
	}
	if p.Nom == "" || p.Prenom == "" || p.Rang < 0 || p.Rang > 99 {
		return errors.New("seal: a beneficiary needs a family name, a first name and a rang from 0 to 99")
	}
	b.WriteString("BN" + p.Nom + gs)
	if p.NomUsage != "" {
		b.WriteString("BU" + p.NomUsage + gs)
	}
	fmt.Fprintf(b, "BP%s"+gs+"BD%sBR%02dBV%s", p.Prenom, dmy(p.Naissance), p.Rang, period(p.Droits))
	if p.ETM != nil {
		b.WriteString("BE" + period(*p.ETM))
	}
	if p.C2S != nil {
		b.WriteString("BC" + period(*p.C2S))
	}
	return nil
}

// epoch is the origin of 2D-Doc's header dates.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// hexDays writes d as 2D-Doc's header does: days since 2000-01-01 in four
// hexadecimal digits, FFFF for no date.
func hexDays(d rules.Date) string {
	if d.IsZero() {
		return "FFFF"
	}
	return fmt.Sprintf("%04X", int(d.Time().Sub(epoch).Hours()/24))
}

func parseHexDays(s string) (rules.Date, error) {
	if s == "FFFF" {
		return rules.Date{}, nil
	}
	n, err := strconv.ParseUint(s, 16, 16)
	if err != nil || strings.ToUpper(s) != s {
		return rules.Date{}, fmt.Errorf("%w: date %q is not four hexadecimal digits", ErrMalformed, s)
	}
	return rules.DateOf(epoch.AddDate(0, 0, int(n))), nil
}

// dmy writes d as DDMMYYYY, 00000000 for no date.
func dmy(d rules.Date) string {
	if d.IsZero() {
		return "00000000"
	}
	return fmt.Sprintf("%02d%02d%04d", d.Day, int(d.Month), d.Year)
}

func parseDMY(s string) (rules.Date, error) {
	if s == "00000000" {
		return rules.Date{}, nil
	}
	if len(s) != 8 || !digits(s) {
		return rules.Date{}, fmt.Errorf("%w: date %q is not DDMMYYYY", ErrMalformed, s)
	}
	d, err := rules.ParseDate(s[4:8] + "-" + s[2:4] + "-" + s[0:2])
	if err != nil || dmy(d) != s {
		return rules.Date{}, fmt.Errorf("%w: date %q does not exist", ErrMalformed, s)
	}
	return d, nil
}

// period writes p as two dates.
func period(p rules.Period) string { return dmy(p.Start) + dmy(p.End) }

func parsePeriod(s string) (rules.Period, error) {
	start, err := parseDMY(s[:8])
	if err != nil {
		return rules.Period{}, err
	}
	end, err := parseDMY(s[8:])
	if err != nil {
		return rules.Period{}, err
	}
	if start.IsZero() || (!end.IsZero() && end.Before(start)) {
		return rules.Period{}, fmt.Errorf("%w: period %q", ErrMalformed, s)
	}
	return rules.Period{Start: start, End: end}, nil
}

func isID(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isNIR reports whether s is a normalized NIR: 15 digits, but for the
// department of Corsica, 2A or 2B.
func isNIR(s string) bool {
	return len(s) == 15 && digits(s[:5]) && digits(s[7:]) &&
		(digits(s[5:7]) || s[5:7] == "2A" || s[5:7] == "2B")
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
