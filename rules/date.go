package rules

import (
	"fmt"
	"time"
)

// Date is a calendar date with no time of day and no zone, as the registry
// and the rules use it. The zero Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads an ISO date, YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MustDate is ParseDate for literals known to be valid; it panics otherwise.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp(int(d.Month), int(e.Month))
	default:
		return cmp(d.Day, e.Day)
	}
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// French formats d as DD/MM/YYYY, as French forms print dates.
func (d Date) French() string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year) }

// Compact formats d as YYYYMMDD, for file names and references.
func (d Date) Compact() string { return fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day) }

// Period is a span of days, both ends included. A zero End means the period
// has no known end.
type Period struct {
	Start Date
	End   Date
}

// OpenEnded reports whether p has no known end.
func (p Period) OpenEnded() bool { return p.End.IsZero() }

// Contains reports whether day falls within p.
func (p Period) Contains(day Date) bool {
	if day.Before(p.Start) {
		return false
	}
	return p.OpenEnded() || !p.End.Before(day)
}

// French describes p the way the attestation prints it: "du 01/02/2024 au
// 31/01/2029", or "depuis le 01/02/2024" when it has no known end.
func (p Period) French() string {
	if p.OpenEnded() {
		return "depuis le " + p.Start.French()
	}
	return "du " + p.Start.French() + " au " + p.End.French()
}
