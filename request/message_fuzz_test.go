package request

import (
	"os"
	"testing"

	"github.com/cpam/attestd/inbox"
)

// FuzzReadMessage: no message panics the pipeline's first two steps,
// inbox.ParseMessage then ReadMessage (FuzzRead checks what Read returns).
func FuzzReadMessage(f *testing.F) {
	for _, file := range sampleFiles(f) {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	lim := inbox.Limits{MaxMessageBytes: 1 << 20, MaxDepth: 10, MaxParts: 50, MaxForwardDepth: 2, MaxTextBytes: 4 << 10}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := inbox.ParseMessage(raw, lim)
		if err != nil {
			return
		}
		_ = ReadMessage(m, &ReadOptions{Known: []string{"LÉA", "MARIE-ANGE"}})
	})
}
