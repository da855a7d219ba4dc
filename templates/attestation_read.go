package templates

import (
	"errors"
	"fmt"
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

// Section headings, printed by the layout and looked for by ReadAttestation.
const (
	headingMentions = "Mentions complémentaires"
	referencePrefix = "Référence : "
)

// ReadAttestation reads an attestation made by PDFRenderer back into its
// summary: the "Référence : …" line, the first name column of the
// beneficiaries table (rows are the lines with one piece per column, below the
// table's heading), and the "PRÉNOM : mention …" lines of the mentions
// section.
func ReadAttestation(pdf []byte) (*AttestationSummary, error) {
	pages, err := extractPages(pdf)
	if err != nil {
		return nil, err
	}
	s := &AttestationSummary{Mentions: map[string][]string{}}
	inTable, inMentions := false, false
	for _, page := range pages {
		for _, cells := range page {
			switch {
			case s.Reference == "" && strings.HasPrefix(cells[0], referencePrefix):
				s.Reference = strings.TrimSpace(strings.TrimPrefix(cells[0], referencePrefix))
			case s.Reference == "" && len(cells) > 1 && strings.HasPrefix(cells[1], referencePrefix):
				s.Reference = strings.TrimSpace(strings.TrimPrefix(cells[1], referencePrefix))
			case isTableHeading(cells):
				inTable = true
			case len(cells) == 1 && cells[0] == headingMentions:
				inTable, inMentions = false, true
			case inTable && len(cells) == len(tableCols):
				s.Beneficiaries = append(s.Beneficiaries, cells[1])
			case inMentions && len(cells) == 1:
				if name, m, ok := mentionOf(cells[0]); ok {
					s.Mentions[name] = append(s.Mentions[name], string(m))
				}
			}
		}
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// isTableHeading reports whether a line is the beneficiaries table's heading.
func isTableHeading(cells []string) bool {
	if len(cells) != len(tableCols) {
		return false
	}
	for i, c := range tableCols {
		if cells[i] != c.head {
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
