package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// The reliability tests of SPEC section 8, each through the real protocols,
// share the helpers of this file: outages of the SMTP relay
// (smtp_failure_test.go), of the IMAP server and UIDVALIDITY resets
// (imap_failure_test.go), failures while deciding (decide_failure_test.go),
// of the ledger and the outbox (ledger_failure_test.go), SIGTERM and
// retention (process_test.go).

// req is one request a test delivers: a sample under a Message-ID of its
// own, so that a test can send the same sample many times.
type req struct {
	name string // the sample it copies, e.g. "01-eva-simple.eml"
	id   string // its Message-ID, without angle brackets
	raw  []byte
	want samples.Case
}

// withMessageID replaces the Message-ID of a raw message; id "" removes it.
func withMessageID(raw []byte, id string) []byte {
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		panic("withMessageID: no header/body separator")
	}
	var out bytes.Buffer
	if id != "" {
		fmt.Fprintf(&out, "Message-ID: <%s>\r\n", id)
	}
	skipping := false
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		if !folded {
			skipping = bytes.HasPrefix(bytes.ToLower(line), []byte("message-id:"))
		}
		if skipping {
			continue
		}
		out.Write(line)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body)
	return out.Bytes()
}

// mix returns n requests cycling through the samples in file order, each
// with the Message-ID "<tag>-<i>@reliability.test".
func mix(t testing.TB, n int, tag string) []req {
	t.Helper()
	exp := samples.ExpectedCases()
	all := samples.Requests()
	out := make([]req, n)
	for i := range out {
		s := all[i%len(all)]
		id := fmt.Sprintf("%s-%03d@reliability.test", tag, i)
		out[i] = req{name: s.Name, id: id, raw: withMessageID(s.Raw, id), want: exp.Cases[s.Name]}
	}
	return out
}

// sample returns the request of one sample under a Message-ID of its own.
func sample(t testing.TB, name, id string) req {
	t.Helper()
	for _, s := range samples.Requests() {
		if s.Name == name {
			return req{name: name, id: id, raw: withMessageID(s.Raw, id), want: samples.ExpectedCases().Cases[name]}
		}
	}
	t.Fatalf("no sample %s", name)
	return req{}
}

func hasReply(r req) bool { return r.want.ReplyTo != nil }

func countReplies(reqs []req) int {
	n := 0
	for _, r := range reqs {
		if hasReply(r) {
			n++
		}
	}
	return n
}

// reliabilityConfig is testConfig with rate limits high enough for a test
// that sends the same sample many times.
func reliabilityConfig(t testing.TB) config.Config {
	cfg := testConfig(t)
	cfg.Limits.AttestationsPerComptePerDay = 10000
	cfg.Limits.GenericRepliesPerAddressPerDay = 10000
	cfg.Workers = 4
	return cfg
}

// eventually waits until cond holds, failing the test after timeout. It
// bounds a wait; it measures nothing.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout = patience(t, timeout)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// patience is how long a test waits for an event before it gives up: the
// timeout its author expected on an idle machine, or longer, up to 30 s
// before the test binary's own deadline (go test -timeout). The tests wait
// on events (a condition, a result on a channel); the bound only turns a
// real hang into a clear failure, so on a machine shared with other heavy
// jobs, where the same work can take ten times longer, it must not fire
// first (issue 15, item 7: TestSMTPTemporaryFailure and
// TestUIDValidityReset gave up after 30 s at load average 18 to 25).
func patience(t testing.TB, timeout time.Duration) time.Duration {
	dt, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return timeout
	}
	deadline, ok := dt.Deadline()
	if !ok {
		return timeout
	}
	return max(timeout, time.Until(deadline)-30*time.Second)
}

func deliverAll(t testing.TB, env *localEnv, reqs []req) {
	t.Helper()
	for _, r := range reqs {
		env.deliver(t, r.raw)
	}
}

// folderIDs returns the Message-IDs in each folder of the service mailbox.
func folderIDs(t testing.TB, env *localEnv) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, f := range []string{"INBOX", "Processed", "Manual", "Quarantine"} {
		for _, raw := range env.folder(t, f) {
			out[f] = append(out[f], rawMessageID(raw))
		}
	}
	return out
}

// rawMessageID reads the Message-ID of a message that may be broken: ""
// when it has none, or no readable header.
func rawMessageID(raw []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
}

// repliesByRequest groups the messages the SMTP server accepted by the
// request they answer (In-Reply-To). Every accepted message counts: two
// identical replies are two replies.
func repliesByRequest(t testing.TB, env *localEnv) map[string][]sentMail {
	t.Helper()
	out := map[string][]sentMail{}
	for _, m := range env.sent(t) {
		id := strings.Trim(header(t, m.Raw, "In-Reply-To"), "<>")
		out[id] = append(out[id], m)
	}
	return out
}

// checkAll checks every request once everything is settled: exactly one
// reply where its outcome has one (to the right address), none otherwise,
// the original once in its folder, and INBOX empty.
func checkAll(t testing.TB, env *localEnv, reqs []req) {
	t.Helper()
	replies := repliesByRequest(t, env)
	folders := folderIDs(t, env)
	if n := len(folders["INBOX"]); n != 0 {
		t.Errorf("INBOX still holds %d messages", n)
	}
	known := map[string]bool{}
	for _, r := range reqs {
		known[r.id] = true
		rs := replies[r.id]
		switch {
		case hasReply(r) && len(rs) != 1:
			t.Errorf("%s (%s, %s): %d replies, want exactly one", r.id, r.name, r.want.Outcome, len(rs))
		case hasReply(r) && !slices.Equal(rs[0].To, []string{*r.want.ReplyTo}):
			t.Errorf("%s (%s): reply to %v, want %s", r.id, r.name, rs[0].To, *r.want.ReplyTo)
		case hasReply(r) && header(t, rs[0].Raw, "X-Attestation-Outcome") != r.want.Outcome:
			t.Errorf("%s (%s): reply says %s, want %s", r.id, r.name, header(t, rs[0].Raw, "X-Attestation-Outcome"), r.want.Outcome)
		case !hasReply(r) && len(rs) != 0:
			t.Errorf("%s (%s, %s): %d replies, want none", r.id, r.name, r.want.Outcome, len(rs))
		}
		n := 0
		for _, id := range folders[r.want.Folder] {
			if id == r.id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s (%s): %d copies in %s, want one (found in %v)", r.id, r.name, n, r.want.Folder, whereIs(folders, r.id))
		}
	}
	for id, rs := range replies {
		if !known[id] {
			t.Errorf("%d replies answer no request of the test (In-Reply-To %q)", len(rs), id)
		}
	}
}

// checkResults checks that each request was reported once, with its
// expected outcome.
func checkResults(t testing.TB, reqs []req, results []daemon.Result) {
	t.Helper()
	byID := map[string][]daemon.Result{}
	for _, res := range results {
		byID[res.MessageID] = append(byID[res.MessageID], res)
	}
	for _, r := range reqs {
		got := byID[r.id]
		if len(got) != 1 {
			t.Errorf("%s (%s): reported %d times, want once", r.id, r.name, len(got))
			continue
		}
		if string(got[0].Outcome) != r.want.Outcome {
			t.Errorf("%s (%s): outcome %s, want %s", r.id, r.name, got[0].Outcome, r.want.Outcome)
		}
	}
}

func pendingOutbox(t testing.TB, db *store.DB) []store.OutboxItem {
	t.Helper()
	items, err := db.ListOutbox(context.Background(), store.OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// allTried reports whether want replies are pending and each was tried at
// least once.
func allTried(t testing.TB, db *store.DB, want int) bool {
	items := pendingOutbox(t, db)
	if len(items) != want {
		return false
	}
	for _, it := range items {
		if it.Attempts == 0 {
			return false
		}
	}
	return true
}

// checkWaiting checks that the requests with a reply are all still in the
// INBOX (none was filed before its reply went out) and that the others
// were filed.
func checkWaiting(t testing.TB, env *localEnv, reqs []req) {
	t.Helper()
	folders := folderIDs(t, env)
	for _, r := range reqs {
		in := slices.Contains(folders["INBOX"], r.id)
		if hasReply(r) && !in {
			t.Errorf("%s (%s): filed in %v before its reply went out", r.id, r.name, whereIs(folders, r.id))
		}
		if !hasReply(r) && in {
			t.Errorf("%s (%s): needs no reply but still in the INBOX", r.id, r.name)
		}
	}
}
