package request

import (
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

// monthNames are the French month names and their usual abbreviations,
// folded: "février", "FEVRIER" and "fév." all read "fevrier" or "fev".
var monthNames = map[string]time.Month{
	"janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
	"mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9, "sep": 9,
	"octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}

// dateAt reads a date starting at toks[i]: 19/06/2012, 2-3-2015,
// 19.06.2012, 02/03/15, 2012-06-19, or in words (wordDateAt). It returns
// the merged token and how many tokens it took.
func dateAt(toks []token, i int, today rules.Date) (token, int) {
	if t, n := wordDateAt(toks, i, today); n > 0 {
		return t, n
	}
	if i+2 >= len(toks) {
		return token{}, 0
	}
	a, b, c := toks[i], toks[i+1], toks[i+2]
	if a.kind != tWord || b.kind != tWord || c.kind != tWord {
		return token{}, 0
	}
	if b.sep != c.sep || (b.sep != "/" && b.sep != "." && b.sep != "-") {
		return token{}, 0
	}
	switch {
	case isDigits(a.f, 1, 2) && isDigits(b.f, 1, 2) && (isDigits(c.f, 4, 4) || isDigits(c.f, 2, 2)):
		return dateToken(toks[i:i+3], atoi(c.f), len(c.f), atoi(b.f), atoi(a.f), today)
	case b.sep == "-" && isDigits(a.f, 4, 4) && isDigits(b.f, 1, 2) && isDigits(c.f, 1, 2):
		return dateToken(toks[i:i+3], atoi(a.f), 4, atoi(b.f), atoi(c.f), today)
	}
	return token{}, 0
}

// wordDateAt reads a date written in words, as people write a date of
// birth: "30 avril 1981", "1er mars 2015", "1ER MARS 2015", "premier mars
// 2015", "2 mars 15", "3 févr. 2016", "15 aout 2010". Case and accents do
// not matter (the tokens are folded).
func wordDateAt(toks []token, i int, today rules.Date) (token, int) {
	a := at(toks, i)
	if a.kind != tWord {
		return token{}, 0
	}
	day := strings.TrimSuffix(a.f, "er")
	if a.f == "premier" {
		day = "1"
	}
	if !isDigits(day, 1, 2) {
		return token{}, 0
	}
	b := at(toks, i+1)
	m, ok := monthNames[b.f]
	if !ok || b.kind != tWord || !spaceSep(b.sep) {
		return token{}, 0
	}
	j := i + 2
	if p := at(toks, j); p.isPunct(".") && p.sep == "" && p.orig == "." {
		j++ // "févr. 2016"
	}
	c := at(toks, j)
	if c.kind != tWord || !spaceSep(c.sep) || !isDigits(c.f, 4, 4) && !isDigits(c.f, 2, 2) {
		return token{}, 0
	}
	if n := at(toks, j+1); len(c.f) == 2 && n.isPunct(":") && n.sep == "" {
		return token{}, 0 // "le 2 mars 15:30" is a time, not a year
	}
	return dateToken(toks[i:j+1], atoi(c.f), len(c.f), int(m), atoi(day), today)
}

func spaceSep(sep string) bool {
	return sep == " " || sep == "\u00a0" || sep == "\u202f" || sep == "  "
}

// dateToken merges parts into the date y-m-d, or returns 0 tokens when it
// is no calendar date. A year of yearDigits 2 is placed by fullYear.
func dateToken(parts []token, y, yearDigits, m, d int, today rules.Date) (token, int) {
	if yearDigits == 2 {
		y = fullYear(y, time.Month(m), d, today)
	}
	if y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 {
		return token{}, 0
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return token{}, 0
	}
	dt := rules.DateOf(t)
	var orig strings.Builder
	for k, p := range parts {
		if k > 0 {
			orig.WriteString(p.sep)
		}
		orig.WriteString(p.orig)
	}
	return token{kind: tDate, f: dt.String(), orig: orig.String(), sep: parts[0].sep, date: dt}, len(parts)
}

// fullYear places a two-digit year yy in the latest century that puts the
// date yy-m-d on or before today: dates of birth are in the past. Without
// today, 00-49 are 20xx and 50-99 are 19xx.
func fullYear(yy int, m time.Month, d int, today rules.Date) int {
	if today.IsZero() {
		if yy < 50 {
			return 2000 + yy
		}
		return 1900 + yy
	}
	y := today.Year/100*100 + yy
	if (rules.Date{Year: y, Month: m, Day: d}).Compare(today) > 0 {
		y -= 100
	}
	return y
}
