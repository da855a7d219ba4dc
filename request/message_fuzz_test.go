package request

import (
	"testing"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/samples"
)

// FuzzReadMessage: no message panics the pipeline's first two steps,
// inbox.ParseMessage then ReadMessage (FuzzRead checks what Read returns).
func FuzzReadMessage(f *testing.F) {
	for _, r := range samples.Requests() {
		f.Add(r.Raw)
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
