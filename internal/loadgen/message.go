package loadgen

import (
	"bytes"
	"fmt"

	"github.com/cpam/attestd/samples"
)

// request is one message of a run: a request of the mix under a
// Message-ID of its own, so that the ledger sees a new message.
type request struct {
	kind      string // the sample's file name
	messageID string // without angle brackets
	raw       []byte
	reply     bool // a reply is expected (false: suppressed, manual…)
}

// mix makes n requests cycling through reqs, each with a unique Message-ID
// made of run and its index.
func mix(reqs []samples.Request, n int, run string, exp *samples.Expected) []request {
	out := make([]request, n)
	for i := range out {
		r := reqs[i%len(reqs)]
		id := fmt.Sprintf("bench-%s-%d@attestd.bench", run, i)
		out[i] = request{kind: r.Name, messageID: id, raw: SetMessageID(r.Raw, id), reply: expectsReply(exp, r.Name)}
	}
	return out
}

// expectsReply reports whether the request of that name gets a reply,
// as far as exp says (a request it does not know is assumed to).
func expectsReply(exp *samples.Expected, name string) bool {
	if exp == nil {
		return true
	}
	c, ok := exp.Cases[name]
	return !ok || c.ReplyTo != nil
}

// SetMessageID returns a copy of the message raw whose Message-ID header
// is <id>: the existing field (with its folded lines) is replaced, or a new
// one is put first. Line ends follow the message's own.
func SetMessageID(raw []byte, id string) []byte {
	eol := []byte("\n")
	if bytes.Contains(raw, []byte("\r\n")) {
		eol = []byte("\r\n")
	}
	field := append([]byte("Message-ID: <"+id+">"), eol...)
	end := headerEnd(raw)
	for start := 0; start < end; {
		next := lineEnd(raw, start)
		// Folded continuation lines belong to the field.
		for next < end && (raw[next] == ' ' || raw[next] == '\t') {
			next = lineEnd(raw, next)
		}
		if hasFieldName(raw[start:next], "message-id") {
			out := make([]byte, 0, len(raw)+len(field))
			out = append(out, raw[:start]...)
			out = append(out, field...)
			return append(out, raw[next:]...)
		}
		start = next
	}
	return append(field, raw...)
}

// headerEnd is the offset of the blank line that ends the header (or the
// message's length).
func headerEnd(raw []byte) int {
	for start := 0; start < len(raw); {
		if raw[start] == '\n' || (raw[start] == '\r' && start+1 < len(raw) && raw[start+1] == '\n') {
			return start
		}
		start = lineEnd(raw, start)
	}
	return len(raw)
}

// lineEnd is the offset just after the line that starts at start.
func lineEnd(raw []byte, start int) int {
	if i := bytes.IndexByte(raw[start:], '\n'); i >= 0 {
		return start + i + 1
	}
	return len(raw)
}

func hasFieldName(line []byte, name string) bool {
	colon := bytes.IndexByte(line, ':')
	return colon >= 0 && bytes.EqualFold(bytes.TrimRight(line[:colon], " \t"), []byte(name))
}
