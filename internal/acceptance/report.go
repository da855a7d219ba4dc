package acceptance

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report prints one line per case (the case, the outcome expected and the
// one seen, PASS or FAIL, the time it took, and the reasons of a failure),
// then the line "N passed, N failed". It returns the two counts.
func Report(w io.Writer, results []Result) (passed, failed int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tWANT\tGOT\tRESULT\tSECONDS\tREASON")
	for _, r := range results {
		verdict, reason := "PASS", "-"
		if r.Passed() {
			passed++
		} else {
			failed++
			verdict, reason = "FAIL", strings.Join(r.Failures, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\n", r.Case, r.Want, orNone(r.Got), verdict, r.Elapsed.Seconds(), oneLine(reason))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return passed, failed
}

// oneLine keeps a reason on its table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
