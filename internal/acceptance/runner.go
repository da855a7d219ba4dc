package acceptance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cpam/attestd/store"
)

// Inbox is the service mailbox of the deployment under test. A Runner calls
// its methods from one goroutine.
type Inbox interface {
	// Deliver puts one request where the deployment reads requests.
	Deliver(ctx context.Context, raw []byte) error
	// Mailbox is the mailbox requests are delivered to, as Locate names it.
	Mailbox() string
	// Locate reports, for each Message-ID of ids (without angle brackets),
	// which folder holds a message with that Message-ID: Mailbox(), one of
	// folders (the folders the cases expect), or any other. IDs found
	// nowhere are absent from the map. Folders that do not exist hold
	// nothing.
	Locate(ctx context.Context, ids []string, folders []string) (map[string]string, error)
}

// Replies is where the deployment's replies can be read. A Runner calls
// Find from one goroutine, every poll, with the Message-IDs of the cases
// still waiting.
type Replies interface {
	// Find returns the replies received so far whose In-Reply-To is one of
	// ids (Message-IDs without angle brackets), by that Message-ID.
	Find(ctx context.Context, ids []string) (map[string][]Reply, error)
}

// Reply is one reply the deployment sent.
type Reply struct {
	// Raw is the message as received.
	Raw []byte
	// Recipients is the SMTP envelope as far as the source can tell (Mailpit:
	// the header recipients plus those it adds to Bcc); nil when it cannot
	// (an IMAP mailbox).
	Recipients []string
}

// Runner delivers cases to a deployment and checks what becomes of them.
type Runner struct {
	// Inbox is the service mailbox.
	Inbox Inbox
	// Replies is where the replies are read.
	Replies Replies
	// Timeout bounds the wait for each case, counted from its delivery.
	// Zero: 60 s.
	Timeout time.Duration
	// Poll is how often the mailbox and the replies are looked at. Zero:
	// 200 ms.
	Poll time.Duration
	// Registry, when set, is the deployment's registry: replies marked
	// no_personal_data must hold none of its names, NIRs, birth dates,
	// addresses or e-mail addresses. Without it they are checked for
	// anything that looks like a NIR or a date of birth.
	Registry *store.Registry
	// RunID makes the run's Message-IDs unique; empty: random.
	RunID string
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Result is what a run found for one case.
type Result struct {
	// Case is the request's file name.
	Case string
	// Want is the outcome expected.json states.
	Want string
	// Got is the reply's X-Attestation-Outcome, "no reply", or "N replies".
	Got string
	// Folder is where the original was last seen; "" when nowhere.
	Folder string
	// MessageID is the Message-ID the run gave the request.
	MessageID string
	// Elapsed is the time from delivery to the last thing waited for.
	Elapsed time.Duration
	// Failures are the reasons the case failed; none when it passed.
	Failures []string
}

// Passed reports whether every check of the case held.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// pending is a case delivered and not settled yet.
type pending struct {
	i         int
	c         Case
	id        string
	delivered time.Time
}

// Run delivers every case, waits for each one's reply and filing, and
// checks them. It returns one result per case, in the order of cases.List.
// Only a cancelled ctx makes it return an error: everything else that goes
// wrong is a case's failure.
func (r *Runner) Run(ctx context.Context, cases *Cases) ([]Result, error) {
	runID := r.RunID
	if runID == "" {
		runID = newRunID()
	}
	results := make([]Result, len(cases.List))
	var waiting []*pending
	folderSet := map[string]bool{}
	var folders []string
	for i, c := range cases.List {
		raw, id := Stamp(c.Raw, runID, c.Name)
		results[i] = Result{Case: c.Name, Want: c.Want.Outcome, MessageID: id}
		if err := r.Inbox.Deliver(ctx, raw); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			results[i].Failures = []string{fmt.Sprintf("delivery failed: %v", err)}
			continue
		}
		waiting = append(waiting, &pending{i: i, c: c, id: id, delivered: r.now()})
		if !folderSet[c.Want.Folder] {
			folderSet[c.Want.Folder] = true
			folders = append(folders, c.Want.Folder)
		}
	}
	privacy := newPrivacy(r.Registry)
	tick := time.NewTicker(r.poll())
	defer tick.Stop()
	var lastErr error
	for len(waiting) > 0 {
		ids := make([]string, len(waiting))
		for k, p := range waiting {
			ids[k] = p.id
		}
		where, err := r.Inbox.Locate(ctx, ids, folders)
		if err != nil {
			lastErr = fmt.Errorf("looking for the originals: %w", err)
		}
		replies, err := r.Replies.Find(ctx, ids)
		if err != nil {
			lastErr = fmt.Errorf("looking for the replies: %w", err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		now := r.now()
		still := waiting[:0]
		for _, p := range waiting {
			o := observed{folder: where[p.id], inbox: r.Inbox.Mailbox(), replies: replies[p.id]}
			o.filed = o.folder != "" && o.folder != o.inbox
			done := o.filed && (p.c.Want.ReplyTo == nil || len(o.replies) > 0)
			if !done && now.Sub(p.delivered) < r.timeout() {
				still = append(still, p)
				continue
			}
			if !done {
				o.timedOut, o.timeout, o.lastErr = true, r.timeout(), lastErr
			}
			res := &results[p.i]
			res.Folder, res.Elapsed = o.folder, now.Sub(p.delivered)
			res.Got, res.Failures = evaluate(p.c.Want, o, privacy)
		}
		waiting = still
		if len(waiting) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	return results, nil
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 60 * time.Second
}

func (r *Runner) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return 200 * time.Millisecond
}

// newRunID returns 12 random hex digits.
func newRunID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
