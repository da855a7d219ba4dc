package pdftext

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/cpam/attestd/rules"
)

// AttestationSummary is what an attestation says, read back from its PDF
// text: for the demo's summary and for end-to-end tests, which check the
// document the insured receives rather than the data it was made from.
type AttestationSummary struct {
	Reference string
	// Beneficiaries are the first names of the table's rows, in order,
	// exactly as printed (as in the registry, e.g. "LÉA").
	Beneficiaries []string
	// Mentions maps a first name to its granted mentions, "ETM" then "C2S".
	// Beneficiaries without a mention have no entry.
	Mentions map[string][]string
}

// ErrNotAttestation is wrapped by ReadAttestation when the PDF is readable
// but is not an attestation this package made.
var ErrNotAttestation = errors.New("not an attestation de droits")

// What the attestation prints (package templates/attestation) and
// ReadAttestation looks for: this package reads the document as the insured
// gets it, so it keeps its own copy of these words. The round-trip tests in
// templates/attestation render attestations and read them back here.
const (
	headingMentions = "Mentions complémentaires"
	referencePrefix = "Référence : "
	mentionETMText  = "Exonération du ticket modérateur"
	mentionC2SText  = "Complémentaire santé solidaire (C2S)"
)

// tableHeads are the headings of the beneficiaries table's columns; the
// first name is the second column.
var tableHeads = [...]string{"Nom", "Prénom", "Né(e) le", "Rang", "Qualité", "N° de sécurité sociale", "Droits"}

// ReadAttestation reads an attestation made by attestation.PDFRenderer back into its
// summary: the "Référence : …" line, the first name column of the
// beneficiaries table (a row starts with a line that has a piece in every
// column; a first name broken over several lines is joined back), and the
// "PRÉNOM : mention …" lines of the mentions section.
func ReadAttestation(pdf []byte) (*AttestationSummary, error) {
	pages, err := extractPages(pdf)
	if err != nil {
		return nil, err
	}
	rd := &attestationReader{s: &AttestationSummary{Mentions: map[string][]string{}}}
	for _, page := range pages {
		for _, cells := range page {
			rd.line(cells)
		}
	}
	rd.endRow()
	if err := rd.s.check(); err != nil {
		return nil, err
	}
	return rd.s, nil
}

// attestationReader reads the lines of an attestation in order.
type attestationReader struct {
	s                   *AttestationSummary
	inTable, inMentions bool
	nameX               float64  // where the first name column starts, from the table heading
	name                []string // the lines of the current row's first name
}

// sameColumn is how far apart, in points, two pieces may start and still be
// in one column.
const sameColumn = 0.5

// line reads one line of pieces.
func (rd *attestationReader) line(cells []textCell) {
	switch {
	case rd.s.Reference == "" && reference(cells) != "":
		rd.s.Reference = reference(cells)
	case isTableHeading(cells):
		rd.endRow()
		rd.inTable, rd.nameX = true, cells[1].x
	case len(cells) == 1 && cells[0].s == headingMentions:
		rd.endRow()
		rd.inTable, rd.inMentions = false, true
	case rd.inTable && len(cells) == len(tableHeads):
		rd.endRow()
		rd.name = []string{cells[1].s}
	case rd.inTable && rd.name != nil:
		for _, c := range cells {
			if math.Abs(c.x-rd.nameX) < sameColumn {
				rd.name = append(rd.name, c.s)
			}
		}
	case rd.inMentions && len(cells) == 1:
		if name, m, ok := mentionOf(cells[0].s); ok {
			rd.s.Mentions[name] = append(rd.s.Mentions[name], string(m))
		}
	}
}

// endRow records the first name of the row being read, if any.
func (rd *attestationReader) endRow() {
	if rd.name != nil {
		rd.s.Beneficiaries = append(rd.s.Beneficiaries, joinWrapped(rd.name))
		rd.name = nil
	}
}

// reference returns the reference a line gives, or "".
func reference(cells []textCell) string {
	for _, c := range cells {
		if strings.HasPrefix(c.s, referencePrefix) {
			return strings.TrimSpace(strings.TrimPrefix(c.s, referencePrefix))
		}
	}
	return ""
}

// isTableHeading reports whether a line is the beneficiaries table's heading.
func isTableHeading(cells []textCell) bool {
	if len(cells) != len(tableHeads) {
		return false
	}
	for i, h := range tableHeads {
		if cells[i].s != h {
			return false
		}
	}
	return true
}

// mentionOf reads a "PRÉNOM : mention du …" line.
func mentionOf(s string) (string, rules.Mention, bool) {
	name, rest, ok := strings.Cut(s, " : ")
	if !ok {
		return "", "", false
	}
	switch {
	case strings.HasPrefix(rest, mentionETMText+" "):
		return name, rules.MentionETM, true
	case strings.HasPrefix(rest, mentionC2SText+" "):
		return name, rules.MentionC2S, true
	}
	return "", "", false
}

// joinWrapped puts back together a first name the layout wrapped over
// several lines: pieces join with a space, except after a hyphen.
func joinWrapped(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 && !strings.HasSuffix(lines[i-1], "-") {
			b.WriteByte(' ')
		}
		b.WriteString(l)
	}
	return b.String()
}

// check tells whether s holds what every attestation has.
func (s *AttestationSummary) check() error {
	switch {
	case s.Reference == "":
		return fmt.Errorf("%w: no %q line", ErrNotAttestation, strings.TrimSpace(referencePrefix))
	case len(s.Beneficiaries) == 0:
		return fmt.Errorf("%w: no beneficiaries table", ErrNotAttestation)
	}
	for name := range s.Mentions {
		found := false
		for _, b := range s.Beneficiaries {
			found = found || b == name
		}
		if !found {
			return fmt.Errorf("%w: a mention names %q, who is not in the beneficiaries table", ErrNotAttestation, name)
		}
	}
	return nil
}
