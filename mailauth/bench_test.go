package mailauth_test

import (
	"strings"
	"testing"
)

// BenchmarkCheck: one request with the trusted server's header (the common
// case), and one a sender padded with forged headers and a long comment.
func BenchmarkCheck(b *testing.B) {
	a := newAuthenticator()
	const from = "eva.dupont@example.org"
	hostile := []string{pass}
	for range 50 {
		hostile = append(hostile, forged, untrusted, quotedMailFrom)
	}
	hostile = append(hostile, trustedID+"; dmarc=pass ("+strings.Repeat("(x) ", 10000)+") header.from=example.org")
	for name, raw := range map[string][]byte{
		"trusted pass":          message(from, pass),
		"150 forgeries, 40 KiB": message(from, hostile...),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if !a.Check(raw, from, nil).Pass && name == "trusted pass" {
					b.Fatal("the trusted pass fails")
				}
			}
		})
	}
}
