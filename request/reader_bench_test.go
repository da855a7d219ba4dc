package inbox

import (
	"os"
	"strings"
	"testing"

	"github.com/cpam/attestd/rules"
)

// BenchmarkReadSamples parses and reads every sample request, as the
// pipeline does for each message: one iteration is the 22 samples.
func BenchmarkReadSamples(b *testing.B) {
	var raws [][]byte
	size := 0
	for _, f := range sampleFiles(b) {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
		size += len(raw)
	}
	known := []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS", "LUCAS"}
	opts := &ReadOptions{Known: known, Today: rules.MustDate("2026-11-25")}
	lim := DefaultLimits()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			m, err := ParseMessage(raw, lim)
			if err != nil {
				b.Fatal(err)
			}
			_ = ReadMessage(m, opts)
		}
	}
}

// BenchmarkParseHostile measures the worst inputs of the hostile tests:
// what one such message costs the daemon.
func BenchmarkParseHostile(b *testing.B) {
	var many strings.Builder
	many.WriteString(hdr + "Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for range 10000 {
		many.WriteString("--p\r\nContent-Type: text/plain\r\n\r\nattestation de droits pour Léa\r\n")
	}
	inputs := map[string]string{
		"nested-1000":  hdr + nestedMultiparts(1000, "x"),
		"parts-10000":  many.String(),
		"line-5MB":     hdr + "Content-Type: text/plain\r\n\r\n" + strings.Repeat("attestation ", 5<<20/12),
		"html-4×64KiB": hdr + "Content-Type: text/html\r\n\r\n" + strings.Repeat("<p>pour <b>Léa</b> &amp; Lucas</p>", 8000),
	}
	for name, raw := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				m, err := ParseMessage([]byte(raw), DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				_ = ReadMessage(m, nil)
			}
		})
	}
}
