package seal

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// parseMessage reads the header and fields of a code, the part before US.
func parseMessage(msg string) (Content, error) {
	var c Content
	if len(msg) < headerLen {
		return c, fmt.Errorf("%w: %d characters, shorter than the header", ErrMalformed, len(msg))
	}
	h := msg[:headerLen]
	if h[:4] != marker || h[20:] != docType+perimeter+country {
		return c, fmt.Errorf("%w: the header is not %s…%s%s%s", ErrMalformed, marker, docType, perimeter, country)
	}
	c.Issuer, c.KeyID = h[4:8], h[8:12]
	if !isID(c.Issuer) || !isID(c.KeyID) {
		return c, fmt.Errorf("%w: issuer or key id", ErrMalformed)
	}
	var err error
	if c.IssuedOn, err = parseHexDays(h[12:16]); err != nil {
		return c, err
	}
	if c.SignedOn, err = parseHexDays(h[16:20]); err != nil {
		return c, err
	}
	if err := c.readFields(msg[headerLen:]); err != nil {
		return c, err
	}
	if c.Reference == "" || c.NIR == "" || len(c.Beneficiaries) == 0 {
		return c, fmt.Errorf("%w: no reference, NIR or beneficiary", ErrMalformed)
	}
	return c, nil
}

// fixedLen is the length of the fixed-length fields; the others end with
// GS.
var fixedLen = map[string]int{"DE": 8, "NA": 15, "BD": 8, "BR": 2, "BV": 16, "BE": 16, "BC": 16, "PL": 2}

// readFields reads the fields after the header, in the order message writes
// them.
func (c *Content) readFields(s string) error {
	var cur *Beneficiary
	seen := map[string]bool{}
	for s != "" {
		if len(s) < 2 {
			return fmt.Errorf("%w: a lone character after the last field", ErrMalformed)
		}
		id := s[:2]
		s = s[2:]
		var v string
		if n, fixed := fixedLen[id]; fixed {
			if len(s) < n {
				return fmt.Errorf("%w: field %s is cut short", ErrMalformed, id)
			}
			v, s = s[:n], s[n:]
		} else {
			v, s, _ = strings.Cut(s, gs)
		}
		if id == "BN" {
			c.Beneficiaries = append(c.Beneficiaries, Beneficiary{})
			cur = &c.Beneficiaries[len(c.Beneficiaries)-1]
			seen = map[string]bool{"RF": seen["RF"], "DE": seen["DE"], "NA": seen["NA"]}
		}
		if seen[id] {
			return fmt.Errorf("%w: field %s twice", ErrMalformed, id)
		}
		seen[id] = true
		if err := c.setField(cur, id, v); err != nil {
			return err
		}
	}
	return nil
}

// setField stores field id of value v; cur is the beneficiary being read.
func (c *Content) setField(cur *Beneficiary, id, v string) error {
	var err error
	switch {
	case id == "RF":
		if v == "" || !printableASCII(v) {
			return fmt.Errorf("%w: reference", ErrMalformed)
		}
		c.Reference = v
	case id == "DE":
		d, err := parseDMY(v)
		if err != nil {
			return err
		}
		if d != c.IssuedOn {
			return fmt.Errorf("%w: the date of issue differs from the header's", ErrMalformed)
		}
	case id == "NA":
		if !isNIR(v) {
			return fmt.Errorf("%w: NIR", ErrMalformed)
		}
		c.NIR = v
	case id == "PL":
		if c.More, err = strconv.Atoi(v); err != nil || !digits(v) || c.More == 0 {
			return fmt.Errorf("%w: count of beneficiaries left out", ErrMalformed)
		}
	case cur == nil:
		return fmt.Errorf("%w: field %s before any BN", ErrMalformed, id)
	default:
		return cur.setField(id, v)
	}
	return err
}

// setField stores a beneficiary's field.
func (p *Beneficiary) setField(id, v string) error {
	var err error
	switch id {
	case "BN", "BU", "BP":
		if v == "" || v != Fold(v) {
			return fmt.Errorf("%w: name field %s", ErrMalformed, id)
		}
		switch id {
		case "BN":
			p.Nom = v
		case "BU":
			p.NomUsage = v
		default:
			p.Prenom = v
		}
	case "BD":
		p.Naissance, err = parseDMY(v)
	case "BR":
		if p.Rang, err = strconv.Atoi(v); err != nil || !digits(v) {
			return fmt.Errorf("%w: rang", ErrMalformed)
		}
	case "BV":
		p.Droits, err = parsePeriod(v)
	case "BE", "BC":
		per, err := parsePeriod(v)
		if err != nil {
			return err
		}
		if id == "BE" {
			p.ETM = &per
		} else {
			p.C2S = &per
		}
	default:
		return fmt.Errorf("%w: unknown field %q", ErrMalformed, id)
	}
	return err
}

// Fold writes a name as 2D-Doc does: upper case, no accents; letters, digits,
// spaces, hyphens and apostrophes only (anything else becomes a space), runs
// of spaces collapsed.
func Fold(s string) string {
	var b strings.Builder
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case r >= 0x300 && r <= 0x36f: // combining accents
			continue
		case r == '’':
			r = '\''
		case ligatures[r] != "":
			b.WriteString(ligatures[r])
			space = false
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		ok := (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '\''
		switch {
		case ok:
			b.WriteRune(r)
			space = false
		case !space:
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// ligatures are the letters NFD does not split that French names use.
var ligatures = map[rune]string{'Œ': "OE", 'œ': "OE", 'Æ': "AE", 'æ': "AE", 'ß': "SS"}
