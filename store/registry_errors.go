package store

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValidationError is one problem found in a registry file. Its message names
// where the problem is and what is wrong, never the personal data itself:
//
//	line 57: compte C-EVA: beneficiaires[0].nir: key 51 does not match (expected 50)
type ValidationError struct {
	// CompteID is the compte the problem is in; "" for a problem outside the
	// comptes (the format, an organisme) or in a compte without an id.
	CompteID string
	// Field is the path to the faulty value within the compte ("email",
	// "beneficiaires[0].droits[1].date_fin"), or within the file when
	// CompteID is "" ("format", "organismes[2].regime", "comptes[4].id").
	Field string
	// Problem says what is wrong.
	Problem string
	// Line is where the record (or, for malformed JSON, the error) is in the
	// file, from 1; 0 when unknown. Column is set for malformed JSON only.
	Line, Column int
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
		b.WriteString(": ")
	}
	if e.CompteID != "" {
		fmt.Fprintf(&b, "compte %s: ", e.CompteID)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// ValidationErrors is every problem ParseRegistry found in a file, in file
// order. errors.As finds it, or any one *ValidationError in it.
type ValidationErrors []*ValidationError

// maxListed bounds how many problems Error spells out.
const maxListed = 50

// Error lists the problems, one a line.
func (es ValidationErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s):", len(es))
	for i, e := range es {
		if i == maxListed {
			fmt.Fprintf(&b, "\n… and %d more", len(es)-maxListed)
			break
		}
		b.WriteString("\n")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.As reaches each one.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// lineCol converts a byte offset in data to a 1-based line and column (in
// characters).
func lineCol(data []byte, offset int64) (line, col int) {
	off := int(min(max(offset, 0), int64(len(data))))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[start:])
}
