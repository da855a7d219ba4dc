package request

import (
	"testing"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

// BenchmarkReadSamples parses and reads every sample request, as the
// pipeline does for each message: one iteration is the 22 samples.
func BenchmarkReadSamples(b *testing.B) {
	var raws [][]byte
	size := 0
	for _, r := range samples.Requests() {
		raws = append(raws, r.Raw)
		size += len(r.Raw)
	}
	known := []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS", "LUCAS"}
	opts := &ReadOptions{Known: known, Today: rules.MustDate("2026-11-25")}
	lim := inbox.DefaultLimits()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			m, err := inbox.ParseMessage(raw, lim)
			if err != nil {
				b.Fatal(err)
			}
			_ = ReadMessage(m, opts)
		}
	}
}
