package inbox

import (
	"strings"
	"testing"
)

// BenchmarkParseHostile measures the worst inputs of the hostile tests:
// what parsing one such message costs the daemon (the reader looks at no
// more than 256 KiB of each text it keeps).
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
				if _, err := ParseMessage([]byte(raw), DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
