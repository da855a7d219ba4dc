package e2e

// The crash tests' verdict: what the servers and the ledger hold against
// what every request must get, and whether a duplicate is explained by a
// kill (see doc.go).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/store"
)

// span is one killed run: when it started, when the test killed it, and
// until when a copy the relay accepted may still be that run's: with one
// replica, until the run that replaced it started (the kernel still
// delivers what the process had written, and nothing else runs); in a
// cluster, where other replicas send meanwhile, a moment after the kill.
type span struct{ start, kill, until time.Time }

// count is what the final check found.
type count struct {
	lost, duplicates, unwanted, wrong, unfinished, replies int
	// inWindow are the duplicates that a kill between the relay's
	// acceptance and the sent journal's note explains: a run had the first
	// copy accepted and was killed, the ledger recorded the reply sent only
	// after the restart, and the second copy went out then. (With SIGKILL the relay may see the
	// end of the data a few microseconds after the kill: the kernel still
	// delivers what the process had written.)
	inWindow int
	// maxGap is the longest time between a window duplicate's first
	// acceptance and its kill, either way.
	maxGap   time.Duration
	problems []string
}

func (c *count) problem(format string, args ...any) {
	if len(c.problems) < 40 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// check compares what the servers and the ledger hold with what every
// request must get. Every message the SMTP server accepted counts: a
// reply sent twice is a duplicate even though both copies are identical.
func (e *env) check(t *testing.T, reqs []request, runs []span) count {
	t.Helper()
	var c count
	replies := map[string][]localmail.Received{}
	for _, m := range e.smtp.Messages() {
		id := idOf(m.Raw, "In-Reply-To")
		replies[id] = append(replies[id], m)
		c.replies++
	}
	db, err := store.Open(context.Background(), e.driver, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outbox, err := db.ListOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]time.Time{} // reply Message-ID -> when the ledger recorded it sent
	for _, it := range outbox {
		recorded[it.MessageID] = it.SentAt
	}
	where := map[string][]string{} // request Message-ID -> the folders that hold it, as "box/folder"
	for b := range e.boxes {
		for _, folder := range []string{"INBOX", "Processed", "Manual", "Quarantine"} {
			snap, err := e.imap.Mailbox(e.boxes[b].user, folder)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range snap.Messages {
				id := idOf(m.Raw, "Message-Id")
				where[id] = append(where[id], e.folder(b, folder))
			}
		}
	}
	known := map[string]bool{}
	for _, r := range reqs {
		known[r.id] = true
		rs := replies[r.id]
		wantReply := r.want.ReplyTo != nil
		switch {
		case wantReply && len(rs) == 0:
			c.lost++
			c.problem("%s (%s, %s): no reply", r.id, r.name, r.want.Outcome)
		case wantReply && len(rs) > 1:
			c.duplicates += len(rs) - 1
			sentAt := recorded[idOf(rs[0].Raw, "Message-Id")]
			if gap, ok := killWindow(rs, sentAt, runs); ok {
				c.inWindow++
				c.maxGap = max(c.maxGap, gap.Abs())
				c.problem("%s (%s): sent twice: the relay accepted it %v before its run was killed (negative: after), unrecorded",
					r.id, r.name, gap)
			} else {
				c.problem("%s (%s): %d replies, accepted at %v, recorded sent at %s: not explained by a kill, a bug",
					r.id, r.name, len(rs), acceptedAt(rs), sentAt.Format("15:04:05.000000"))
			}
		case !wantReply && len(rs) > 0:
			c.unwanted += len(rs)
			c.problem("%s (%s, %s): %d replies, want none", r.id, r.name, r.want.Outcome, len(rs))
		}
		if wantReply && len(rs) > 0 {
			if got := headerOf(rs[0].Raw, "X-Attestation-Outcome"); got != r.want.Outcome {
				c.wrong++
				c.problem("%s (%s): answered %s, want %s", r.id, r.name, got, r.want.Outcome)
			}
			if len(rs[0].To) != 1 || rs[0].To[0] != *r.want.ReplyTo {
				c.wrong++
				c.problem("%s (%s): reply to %v, want %s", r.id, r.name, rs[0].To, *r.want.ReplyTo)
			}
		}
		switch f := where[r.id]; {
		case len(f) == 0:
			c.lost++
			c.problem("%s (%s): original in no folder", r.id, r.name)
		case len(f) > 1 || f[0] != e.folder(r.box, r.want.Folder):
			c.wrong++
			c.problem("%s (%s): original in %v, want %s", r.id, r.name, f, e.folder(r.box, r.want.Folder))
		}
	}
	for id, rs := range replies {
		if !known[id] {
			c.unwanted += len(rs)
			c.problem("%d replies answer no request (In-Reply-To %q)", len(rs), id)
		}
	}
	for _, b := range e.boxes {
		open, err := db.Unfinished(context.Background(), b.ledger)
		if err != nil {
			t.Fatal(err)
		}
		c.unfinished += len(open)
		for _, cl := range open {
			c.problem("ledger entry %d (%s, mailbox %s) left %s", cl.ID, cl.MessageID, b.ledger, cl.State)
		}
	}
	return c
}

// folder names a folder of the mailbox b as check reports it: the folder
// alone when there is one mailbox, else "user/folder".
func (e *env) folder(b int, name string) string {
	if len(e.boxes) == 1 {
		return name
	}
	return e.boxes[b].user + "/" + name
}

// killWindow reports whether a kill explains a reply accepted twice: the
// first copy went out while a killed run lived (span.until), the ledger
// recorded the reply sent only after that run, and the second copy went out
// after it too. It returns the time from the first acceptance to the kill.
// (With several replicas the copy cannot be traced to its process: any
// killed run whose life spans it will do.)
func killWindow(rs []localmail.Received, recorded time.Time, runs []span) (time.Duration, bool) {
	if len(rs) != 2 {
		return 0, false
	}
	for _, r := range runs {
		if rs[0].At.After(r.start) && rs[0].At.Before(r.until) && recorded.After(r.kill) && rs[1].At.After(r.kill) {
			return r.kill.Sub(rs[0].At), true
		}
	}
	return 0, false
}

func acceptedAt(rs []localmail.Received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.At.Format("15:04:05.000000"))
	}
	return out
}

// keep copies the test's directory to ATTESTD_CRASH_KEEP, when set.
func (e *env) keep(t *testing.T) {
	if dir := os.Getenv("ATTESTD_CRASH_KEEP"); dir != "" {
		if out, err := exec.Command("cp", "-r", e.dir, dir).CombinedOutput(); err != nil {
			t.Logf("ATTESTD_CRASH_KEEP: %v: %s", err, out)
		}
	}
}

// judge prints lost= and duplicates=, logs the problems found, and fails
// the test on any of them (on a duplicate a kill explains too, unless
// lenient).
func (c count) judge(t *testing.T, seed uint64) {
	t.Helper()
	fmt.Printf("lost=%d duplicates=%d\n", c.lost, c.duplicates)
	if c.inWindow > 0 {
		fmt.Printf("  %d duplicate(s) from a SIGKILL between the relay's acceptance and the sent journal's note (accepted within %v of the kill)\n",
			c.inWindow, c.maxGap)
	}
	for _, pr := range c.problems {
		t.Log(pr)
	}
	if bugs := c.duplicates - c.inWindow; c.lost+bugs+c.unwanted+c.wrong+c.unfinished > 0 || !lenient() && c.duplicates > 0 {
		t.Fatalf("lost=%d duplicates=%d (%d unexplained) unwanted=%d wrong=%d unfinished=%d (seed %d)",
			c.lost, c.duplicates, bugs, c.unwanted, c.wrong, c.unfinished, seed)
	}
}

// lenient reports whether ATTESTD_CRASH_LENIENT asks to tolerate the
// duplicates a kill between the relay's acceptance and the sent journal's
// note explains (to look at other failures); by default every duplicate
// fails the test.
func lenient() bool { return os.Getenv("ATTESTD_CRASH_LENIENT") != "" }
