package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

const (
	user     = "attestation@cpam.example"
	password = "crash-test"
	// maxKillDelay bounds the random time a run lives before its SIGKILL.
	// A run logs in within milliseconds and handles about 100 requests a
	// second on two CPUs: with perRun requests arriving at each start, it
	// is still busy when the kill comes, which lands anywhere in the work.
	maxKillDelay = 400 * time.Millisecond
	perRun       = 60
)

// settings are the run's size, from the environment.
type settings struct {
	kills, requests int
	seed            uint64
}

// settingsFromEnv reads the run's size; without ATTESTD_CRASH_REQUESTS
// there are perKill requests a kill (200 at least).
func settingsFromEnv(t *testing.T, perKill int) settings {
	t.Helper()
	num := func(key string, def uint64) uint64 {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a whole number", key, v)
		}
		return n
	}
	s := settings{kills: int(num("ATTESTD_CRASH_KILLS", 10))}
	s.requests = int(num("ATTESTD_CRASH_REQUESTS", uint64(max(200, perKill*s.kills))))
	s.seed = num("ATTESTD_CRASH_SEED", uint64(time.Now().UnixNano()))
	return s
}

// request is one request of the stream: a sample under a Message-ID of its
// own, with what expected.json says it must get, and the mailbox (an index
// in env.boxes) it is delivered to.
type request struct {
	name string
	id   string
	raw  []byte
	want samples.Case
	box  int
}

// stream returns n requests cycling through the samples, dealt in turn to
// boxes mailboxes.
func stream(n, boxes int) []request {
	exp := samples.ExpectedCases()
	all := samples.Requests()
	out := make([]request, n)
	for i := range out {
		s := all[i%len(all)]
		id := fmt.Sprintf("crash-%04d@crashtest.example", i)
		out[i] = request{name: s.Name, id: id, raw: withMessageID(s.Raw, id), want: exp.Cases[s.Name], box: i % boxes}
	}
	return out
}

// withMessageID replaces the Message-ID of a raw message (CRLF line ends).
func withMessageID(raw []byte, id string) []byte {
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		panic("withMessageID: no header/body separator")
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "Message-ID: <%s>\r\n", id)
	skipping := false
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if len(line) == 0 || (line[0] != ' ' && line[0] != '\t') {
			skipping = bytes.HasPrefix(bytes.ToLower(line), []byte("message-id:"))
		}
		if !skipping {
			out.Write(line)
			out.WriteString("\r\n")
		}
	}
	out.WriteString("\r\n")
	out.Write(body)
	return out.Bytes()
}

// headerOf reads one header field of a raw message; "" if unreadable.
func headerOf(raw []byte, key string) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(h.Get(key))
}

func idOf(raw []byte, key string) string { return strings.Trim(headerOf(raw, key), "<>") }

// env is the test's world: the binary, the servers, the files.
type env struct {
	dir, bin, config string
	// driver and dsn name the store the runs share.
	driver, dsn string
	// boxes are the mailboxes the runs watch.
	boxes []box
	// environ is added to each run's environment (the IMAP passwords).
	environ []string
	imap    *localmail.IMAPServer
	smtp    *localmail.SMTPServer
}

// box is one mailbox of the service: its IMAP account, and the name the
// ledger keeps its messages under.
type box struct{ user, ledger string }

// setUp builds attestd and writes its configuration for a test of kills
// SIGKILLs.
func setUp(t *testing.T, kills int) *env {
	t.Helper()
	e := startServers(t, map[string]string{user: password})
	e.boxes = []box{{user: user, ledger: "INBOX"}}
	e.environ = []string{"ATTESTD_CRASH_IMAP_PASSWORD=" + password}
	registry := filepath.Join(e.dir, "registry.json")
	if err := os.WriteFile(registry, samples.Registry(), 0o600); err != nil {
		t.Fatal(err)
	}
	e.driver, e.dsn = "sqlite", filepath.Join(e.dir, "attestd.db")
	if out, err := exec.Command(e.bin, "registry", "import", "--db", e.dsn, registry).CombinedOutput(); err != nil {
		t.Fatalf("attestd registry import: %v\n%s", err, out)
	}
	exp := samples.ExpectedCases()
	// limits.max_attempts is above the number of kills: a request claimed
	// by every killed run (on a loaded machine a run can be killed before
	// it decides its first request, again and again) must not end failed,
	// the outcome of a request that makes the daemon fail by itself
	// (daemon.TestPanicWhileDeciding). The kills are the test's, not the
	// request's.
	cfg := fmt.Sprintf(`service: {address: %s, domain: cpam.example}
imap:
  address: %s
  username: %s
  password_env: ATTESTD_CRASH_IMAP_PASSWORD
  idle_wakeup: 50ms
  poll_interval: 1s
smtp: {address: %s}
store: {driver: sqlite, dsn: %s}
trust:
  authserv_ids: [%s]
  agent_domains: [%s]
  gateway: {domain: %s, header: %s}
limits: {attestations_per_compte_per_day: 100000, generic_replies_per_address_per_day: 100000, max_attempts: %d}
outbox: {retry_initial: 100ms, retry_max: 1s}
`, exp.ServiceAddress, e.imap.Addr(), user, e.smtp.Addr(), e.dsn, exp.TrustedAuthservID,
		strings.Join(exp.AgentDomains, ", "), exp.GatewayDomain, exp.GatewayHeader, kills+1)
	e.config = filepath.Join(e.dir, "attestd.yaml")
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// startServers makes the test's directory and finds the binary, and starts
// the in-process IMAP server with the given accounts and the SMTP server.
func startServers(t *testing.T, accounts map[string]string) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), bin: os.Getenv("ATTESTD_CRASH_BINARY")}
	if e.bin == "" {
		e.bin = needBinary(t)
	}
	e.imap, e.smtp = testkit.MailServers(t, accounts)
	return e
}

// process is one run of `attestd run`.
type process struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start starts a run that logs to NAME.log.
func (e *env) start(t *testing.T, name string) *process {
	t.Helper()
	return e.startWith(t, name, e.config)
}

// startWith is start with another configuration file.
func (e *env) startWith(t *testing.T, name, config string) *process {
	t.Helper()
	p := &process{log: filepath.Join(e.dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(e.bin, "run", "--config", config, "--today", samples.ExpectedCases().Today)
	p.cmd.Env = append(os.Environ(), e.environ...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

func (p *process) logHas(s string) bool {
	b, _ := os.ReadFile(p.log)
	return bytes.Contains(b, []byte(s))
}

func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// exited reports whether the run ended by itself.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) signal(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatalf("attestd did not exit a minute after %v; its log:\n%s", sig, p.tail())
	}
	return p.cmd.ProcessState.ExitCode()
}

// feed delivers a stream of requests in parts shares.
type feed struct {
	e     *env
	reqs  []request
	parts int
	next  int // the first request not delivered
}

// share delivers the requests of share k (from 0), each to its mailbox's
// INBOX.
func (f *feed) share(t *testing.T, k int) {
	t.Helper()
	end := len(f.reqs) * (k + 1) / f.parts
	for ; f.next < end; f.next++ {
		r := f.reqs[f.next]
		if _, err := f.e.imap.Append(f.e.boxes[r.box].user, "INBOX", r.raw); err != nil {
			t.Fatal(err)
		}
	}
}

// inboxes counts the messages in the INBOX of every mailbox.
func (e *env) inboxes(t *testing.T) int {
	t.Helper()
	n := 0
	for _, b := range e.boxes {
		snap, err := e.imap.Mailbox(b.user, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		n += len(snap.Messages)
	}
	return n
}

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

// TestCrash is the crash test described in the package documentation.
func TestCrash(t *testing.T) {
	if n := replicasFromEnv(t); n > 1 {
		crashCluster(t, n)
		return
	}
	s := settingsFromEnv(t, perRun)
	began := time.Now()
	e := setUp(t, s.kills)
	reqs := stream(s.requests, 1)
	rng := rand.New(rand.NewPCG(s.seed, 0))
	t.Logf("kills=%d requests=%d seed=%d (ATTESTD_CRASH_SEED=%d replays these kill moments)", s.kills, s.requests, s.seed, s.seed)

	// Each run gets its share of the stream as it starts, so that there is
	// work in flight when the kill comes: during start-up, deciding,
	// rendering, sending, filing.
	f := &feed{e: e, reqs: reqs, parts: s.kills + 1}
	appendShare := func(run int) { f.share(t, run) }
	inbox := func() int { return e.inboxes(t) }
	var (
		runs []span
		busy int // kills that left requests to do
	)
	for run := range s.kills {
		started := time.Now()
		if run > 0 {
			runs[run-1].until = started
		}
		p := e.start(t, fmt.Sprintf("run-%03d", run))
		appendShare(run)
		time.Sleep(time.Duration(rng.Int64N(int64(maxKillDelay))))
		if p.exited() {
			t.Fatalf("run %d exited by itself; its log:\n%s", run, p.tail())
		}
		runs = append(runs, span{start: started, kill: time.Now()})
		p.signal(t, syscall.SIGKILL)
		if inbox() > 0 {
			busy++
		}
	}

	// The last run is not killed: it drains everything, then stops on
	// SIGTERM, which must exit 0.
	last := time.Now()
	if len(runs) > 0 {
		runs[len(runs)-1].until = last
	}
	p := e.start(t, fmt.Sprintf("run-%03d", s.kills))
	appendShare(s.kills)
	deadline := time.Now().Add(5 * time.Minute)
	for n := inbox(); n > 0; n = inbox() {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("the last run left %d messages in the INBOX; its log:\n%s", n, p.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	drained := time.Since(last)
	if code := p.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("the last run exited %d on SIGTERM, want 0; its log:\n%s", code, p.tail())
	}

	c := e.check(t, reqs, runs)
	e.keep(t)
	fmt.Printf("crash test: requests=%d replies=%d kills=%d (%d with requests left to do) seed=%d duration=%v (last run %v)\n",
		s.requests, c.replies, s.kills, busy, s.seed, time.Since(began).Round(100*time.Millisecond), drained.Round(100*time.Millisecond))
	c.judge(t, s.seed)
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
