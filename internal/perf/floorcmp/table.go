//go:build linux

package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// printTable prints the floor's and attestd's figures side by side, with
// the ratios issue 14 judges: throughput as a share of the floor's,
// latencies as the difference.
func printTable(out io.Writer, loads []load, fl, at *measured) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "load\tfloor\tattestd\tattestd against the floor")
	for _, l := range loads {
		f, a := fl.Runs[l.Name], at.Runs[l.Name]
		name := fmt.Sprintf("%s: %d", l.Name, l.N)
		if l.Rate > 0 {
			name += fmt.Sprintf(" at %g/s", l.Rate)
		}
		fmt.Fprintf(w, "%s\t%.1f replies/s\t%.1f replies/s\t%.0f %% of the floor's throughput\n",
			name, f.PerSecond, a.PerSecond, 100*a.PerSecond/f.PerSecond)
		fmt.Fprintf(w, "  p50 / p90 / p99\t%s / %s / %s\t%s / %s / %s\tp50 %s, p99 %s\n",
			ms(f.P50), ms(f.P90), ms(f.P99), ms(a.P50), ms(a.P90), ms(a.P99), diff(a.P50-f.P50), diff(a.P99-f.P99))
		fmt.Fprintf(w, "  replies, missing, duplicates\t%d, %d, %d\t%d, %d, %d\t\n",
			f.Replies, f.Missing, f.Duplicates, a.Replies, a.Missing, a.Duplicates)
		fmt.Fprintf(w, "  CPU a reply\t%s\t%s\t%.1f×\n", perReply(fl.CPU[l.Name], f.Replies),
			perReply(at.CPU[l.Name], a.Replies), ratio(at.CPU[l.Name], a.Replies, fl.CPU[l.Name], f.Replies))
	}
	for _, l := range loads {
		for who, m := range map[string]*measured{"floor": fl, "attestd": at} {
			if r := m.Runs[l.Name]; l.Rate > 0 && r.SendTime.Seconds() > 1.1*float64(l.N)/l.Rate {
				fmt.Fprintf(w, "warning: %s run of %s: %d requests took %.1f s to send instead of %.1f s: the machine was too busy to offer the load\t\t\t\n",
					l.Name, who, l.N, r.SendTime.Seconds(), float64(l.N)/l.Rate)
			}
		}
	}
	fmt.Fprintf(w, "peak RSS\t%.0f MB\t%.0f MB\t\n", float64(fl.PeakRSS)/1e6, float64(at.PeakRSS)/1e6)
	fmt.Fprintf(w, "idle CPU (no request for a while)\t%.2f %% of a core\t%.2f %% of a core\t\n", 100*fl.IdleCPU, 100*at.IdleCPU)
	w.Flush()
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func diff(d time.Duration) string {
	if d >= 0 {
		return "+" + ms(d)
	}
	return "-" + ms(-d)
}

func perReply(cpu time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(cpu)/float64(n)/float64(time.Millisecond))
}

func ratio(a time.Duration, an int, b time.Duration, bn int) float64 {
	if an == 0 || bn == 0 || b == 0 {
		return 0
	}
	return (float64(a) / float64(an)) / (float64(b) / float64(bn))
}
