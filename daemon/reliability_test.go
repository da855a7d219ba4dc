package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// The reliability tests of SPEC section 8: outages of the SMTP relay, the
// IMAP server and the registry, UIDVALIDITY resets, copies, panics,
// SIGTERM and retention, each through the real protocols.

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

func tempFail(string, []string) error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
}

// TestSMTPTemporaryFailure: the relay answers 451 for a while, then
// recovers. Every reply goes out exactly once, and no original is filed
// before its reply is out.
func TestSMTPTemporaryFailure(t *testing.T) {
	env := newLocalEnv(t)
	env.smtp.SetFault(tempFail)
	db := sampledb.SQLite(t)
	reqs := mix(t, 44, "t451")
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	deliverAll(t, env, reqs)
	eventually(t, 30*time.Second, "every reply tried and deferred", func() bool { return allTried(t, db, countReplies(reqs)) })
	// Let the outbox retry a few times more while the relay still refuses.
	eventually(t, 30*time.Second, "a second round of retries", func() bool {
		for _, it := range pendingOutbox(t, db) {
			if it.Attempts < 2 {
				return false
			}
		}
		return true
	})
	checkWaiting(t, env, reqs)
	if n := len(env.sent(t)); n != 0 {
		t.Fatalf("%d replies accepted while the relay refused everything", n)
	}
	env.smtp.SetFault(nil)
	results := r.collect(t, len(reqs), 60*time.Second)
	checkResults(t, reqs, results)
	checkAll(t, env, reqs)
}

// TestSMTPDownAtStart: the relay refuses connections when the daemon
// starts, and comes back later.
func TestSMTPDownAtStart(t *testing.T) {
	env := newLocalEnv(t)
	if err := env.smtp.Stop(); err != nil {
		t.Fatal(err)
	}
	db := sampledb.SQLite(t)
	reqs := mix(t, 22, "down")
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	deliverAll(t, env, reqs)
	eventually(t, 30*time.Second, "every reply tried and deferred", func() bool { return allTried(t, db, countReplies(reqs)) })
	checkWaiting(t, env, reqs)
	if err := env.smtp.Start(); err != nil {
		t.Fatal(err)
	}
	results := r.collect(t, len(reqs), 60*time.Second)
	checkResults(t, reqs, results)
	checkAll(t, env, reqs)
}

// buildAttestd builds cmd/attestd into a temporary directory.
func buildAttestd(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "attestd")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/attestd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/attestd: %v\n%s", err, out)
	}
	return bin
}

// binaryConfig writes the configuration file of `attestd run` against env,
// with the store in dbPath; the IMAP password is in $ATTESTD_TEST_IMAP_PASSWORD.
func binaryConfig(t testing.TB, env *localEnv, dbPath string, workers int) string {
	t.Helper()
	exp := samples.ExpectedCases()
	dir := t.TempDir()
	registry := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(registry, samples.Registry(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`service: {address: %s, domain: cpam.example}
imap:
  address: %s
  username: %s
  password_env: ATTESTD_TEST_IMAP_PASSWORD
  idle_wakeup: 50ms
  poll_interval: 1s
smtp: {address: %s}
store: {driver: sqlite, dsn: %s}
trust:
  authserv_ids: [%s]
  agent_domains: [%s]
  gateway: {domain: %s, header: %s}
limits: {attestations_per_compte_per_day: 10000, generic_replies_per_address_per_day: 10000}
outbox: {retry_initial: 100ms, retry_max: 1s}
registry: {import_on_start: %s}
workers: %d
`, exp.ServiceAddress, env.imap.Addr(), serviceUser, env.smtp.Addr(), dbPath, exp.TrustedAuthservID,
		strings.Join(exp.AgentDomains, ", "), exp.GatewayDomain, exp.GatewayHeader, registry, workers)
	path := filepath.Join(dir, "attestd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs the binary to completion and returns its exit status and
// output.
func runCLI(t testing.TB, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ATTESTD_TEST_IMAP_PASSWORD=secret")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestSMTPPermanentFailure: the relay refuses one recipient with 550. The
// reply is recorded as permanent and not retried, its original is filed,
// `attestd outbox list` shows it, and `attestd outbox retry ID` sends it
// once the relay takes it.
func TestSMTPPermanentFailure(t *testing.T) {
	env := newLocalEnv(t)
	reqs := mix(t, 22, "p550")
	refusedReq := reqs[4] // 05-marc-sans-adresse, the only request to this address
	refused := *refusedReq.want.ReplyTo
	var refusals atomic.Int64
	env.smtp.SetFault(func(_ string, to []string) error {
		if slices.Contains(to, refused) {
			refusals.Add(1)
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
		}
		return nil
	})
	dbPath := sampledb.File(t)
	db := openFile(t, dbPath)
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	deliverAll(t, env, reqs)
	results := r.collect(t, len(reqs), 60*time.Second)
	checkResults(t, reqs, results)

	var perm []store.OutboxItem
	all, err := db.ListOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		if it.State == store.OutboxPermanent {
			perm = append(perm, it)
		}
	}
	if len(perm) != 1 || perm[0].Attempts != 1 || !strings.Contains(perm[0].LastError, "550") {
		t.Fatalf("want one reply refused for good after one attempt with the 550, got %+v", perm)
	}
	if n := refusals.Load(); n != 1 {
		t.Errorf("the refused reply was tried %d times, want once", n)
	}
	folders := folderIDs(t, env)
	if !slices.Contains(folders["Processed"], refusedReq.id) {
		t.Errorf("the refused request's original is in %v, want Processed", whereIs(folders, refusedReq.id))
	}

	bin := buildAttestd(t)
	cfgPath := binaryConfig(t, env, dbPath, 1)
	code, out := runCLI(t, bin, "outbox", "list", "--config", cfgPath)
	id := fmt.Sprint(perm[0].ID)
	if code != 0 || !strings.Contains(out, "permanent") || !strings.Contains(out, "550") || !strings.Contains(out, "address_missing") {
		t.Fatalf("outbox list: exit %d, want the refused reply listed:\n%s", code, out)
	}
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, id+" ") }) {
		t.Fatalf("outbox list does not show ID %s:\n%s", id, out)
	}
	if strings.Contains(out, refused) {
		t.Errorf("outbox list shows the recipient's address:\n%s", out)
	}

	env.smtp.SetFault(nil)
	if code, out := runCLI(t, bin, "outbox", "retry", "--config", cfgPath, id); code != 0 {
		t.Fatalf("outbox retry %s: exit %d:\n%s", id, code, out)
	}
	eventually(t, 30*time.Second, "the retried reply to go out", func() bool { return len(repliesByRequest(t, env)[refusedReq.id]) > 0 })
	checkAll(t, env, reqs)
	if code, out := runCLI(t, bin, "outbox", "list", "--config", cfgPath); code != 0 || !strings.Contains(out, "0 replies") {
		t.Errorf("outbox list after the retry: exit %d, want no reply left:\n%s", code, out)
	}
	if code, out := runCLI(t, bin, "outbox", "retry", "--config", cfgPath, id); code == 0 {
		t.Errorf("outbox retry of a sent reply succeeded; it would go out twice:\n%s", out)
	}
}

// waitLog waits until the daemon's log holds n lines containing s.
func waitLog(t testing.TB, r *running, s string, n int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d log lines with %q", n, s), func() bool { return strings.Count(r.logs.String(), s) >= n })
}

// TestIMAPRestart: the IMAP server goes away mid-run while mail keeps
// arriving; the daemon reconnects with back-off and catches up.
func TestIMAPRestart(t *testing.T) {
	env := newLocalEnv(t)
	reqs := mix(t, 44, "imap")
	first, second := reqs[:22], reqs[22:]
	r := start(t, env, reliabilityConfig(t), daemon.Options{})
	deliverAll(t, env, first)
	results := r.collect(t, len(first), 60*time.Second)
	if err := env.imap.Stop(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, "imap work connection lost", 1, 30*time.Second)
	deliverAll(t, env, second) // arrives while the server is down
	waitLog(t, r, "imap work connection lost", 2, 30*time.Second)
	if err := env.imap.Start(); err != nil {
		t.Fatal(err)
	}
	results = append(results, r.collect(t, len(second), 60*time.Second)...)
	checkResults(t, reqs, results)
	checkAll(t, env, reqs)
}

// restartIMAP makes the daemon's connections drop and reconnect.
func restartIMAP(t testing.TB, env *localEnv) {
	t.Helper()
	if err := env.imap.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := env.imap.Start(); err != nil {
		t.Fatal(err)
	}
}

// TestUIDValidityReset: the server gives the mailbox a new UIDVALIDITY
// with the same messages in it. No request gets a second reply; the copies
// are filed.
func TestUIDValidityReset(t *testing.T) {
	t.Run("handled messages put back", func(t *testing.T) {
		env := newLocalEnv(t)
		db := sampledb.SQLite(t)
		reqs := mix(t, 22, "reset-done")
		r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
		deliverAll(t, env, reqs)
		checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
		r.stop()
		// The server restores the mailbox from a backup: the requests are
		// back in the INBOX, under a new UIDVALIDITY.
		deliverAll(t, env, reqs)
		if _, err := env.imap.ResetUIDValidity(serviceUser, "INBOX"); err != nil {
			t.Fatal(err)
		}
		r = start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
		copies := r.collect(t, len(reqs), 60*time.Second)
		for _, c := range copies {
			if c.ReplyTo != "" {
				t.Errorf("copy of %s: reported a reply to %s", c.MessageID, c.ReplyTo)
			}
		}
		replies := repliesByRequest(t, env)
		folders := folderIDs(t, env)
		for _, q := range reqs {
			if want := map[bool]int{true: 1, false: 0}[hasReply(q)]; len(replies[q.id]) != want {
				t.Errorf("%s (%s): %d replies, want %d", q.id, q.name, len(replies[q.id]), want)
			}
			if n := countID(folders[q.want.Folder], q.id); n != 2 {
				t.Errorf("%s (%s): %d copies in %s, want the original and its copy", q.id, q.name, n, q.want.Folder)
			}
		}
		if len(folders["INBOX"]) != 0 {
			t.Errorf("INBOX still holds %d messages", len(folders["INBOX"]))
		}
	})
	t.Run("replies waiting for the relay", func(t *testing.T) {
		env := newLocalEnv(t)
		env.smtp.SetFault(tempFail)
		db := sampledb.SQLite(t)
		reqs := mix(t, 22, "reset-waiting")
		r := start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
		deliverAll(t, env, reqs)
		eventually(t, 30*time.Second, "every reply tried and deferred", func() bool { return allTried(t, db, countReplies(reqs)) })
		results := r.collect(t, len(reqs)-countReplies(reqs), 30*time.Second)
		if _, err := env.imap.ResetUIDValidity(serviceUser, "INBOX"); err != nil {
			t.Fatal(err)
		}
		restartIMAP(t, env)
		waitLog(t, r, "seen again under another key", countReplies(reqs), 30*time.Second)
		checkWaiting(t, env, reqs)
		env.smtp.SetFault(nil)
		results = append(results, r.collect(t, countReplies(reqs), 60*time.Second)...)
		checkResults(t, reqs, results)
		checkAll(t, env, reqs)
	})
	t.Run("request not decided yet", func(t *testing.T) {
		env := newLocalEnv(t)
		reg := &faultyRegistry{DB: sampledb.SQLite(t)}
		reg.set(func(string) error { return errors.New("registry unreachable") })
		cfg := reliabilityConfig(t)
		cfg.Limits.MaxAttempts = 100
		reqs := []req{sample(t, "01-eva-simple.eml", "reset-undecided@reliability.test")}
		r := start(t, env, cfg, daemon.Options{Store: reg})
		deliverAll(t, env, reqs)
		waitLog(t, r, "cannot decide message now", 1, 30*time.Second)
		if _, err := env.imap.ResetUIDValidity(serviceUser, "INBOX"); err != nil {
			t.Fatal(err)
		}
		restartIMAP(t, env)
		waitLog(t, r, "seen again under another key", 1, 30*time.Second)
		reg.set(nil)
		checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
		checkAll(t, env, reqs)
	})
}

// faultyRegistry is the store with registry look-ups that fail (or panic)
// on demand, while the ledger and the outbox keep working.
type faultyRegistry struct {
	*store.DB
	mu      sync.Mutex
	fault   func(key string) error
	lookups int
}

func (f *faultyRegistry) set(fault func(key string) error) {
	f.mu.Lock()
	f.fault = fault
	f.mu.Unlock()
}

func (f *faultyRegistry) check(key string) error {
	f.mu.Lock()
	fault := f.fault
	f.lookups++
	f.mu.Unlock()
	if fault == nil {
		return nil
	}
	return fault(key)
}

func (f *faultyRegistry) ComptesByEmail(ctx context.Context, email string) ([]*rules.Compte, error) {
	if err := f.check(email); err != nil {
		return nil, err
	}
	return f.DB.ComptesByEmail(ctx, email)
}

func (f *faultyRegistry) CompteByNIR(ctx context.Context, nir string) (*rules.Compte, error) {
	if err := f.check(nir); err != nil {
		return nil, err
	}
	return f.DB.CompteByNIR(ctx, nir)
}

// failedReply checks that a request ended failed: the generic reply to its
// sender, no personal data beyond the address, the original in Manual.
func failedReply(t testing.TB, env *localEnv, q req, res daemon.Result) {
	t.Helper()
	if res.Outcome != rules.Failed || res.Folder != "Manual" {
		t.Fatalf("%s: %s in %s, want failed in Manual", q.name, res.Outcome, res.Folder)
	}
	rs := repliesByRequest(t, env)[q.id]
	if len(rs) != 1 {
		t.Fatalf("%s: %d replies, want the one failed reply", q.name, len(rs))
	}
	rp := readReply(t, rs[0])
	if !slices.Equal(rp.to, []string{*q.want.ReplyTo}) || rp.header.Get("X-Attestation-Outcome") != "failed" {
		t.Errorf("%s: reply to %v saying %q", q.name, rp.to, rp.header.Get("X-Attestation-Outcome"))
	}
	if !strings.Contains(rp.text, "n'a pas abouti") || rp.pdf != nil {
		t.Errorf("%s: the failed reply must say the request n'a pas abouti, without a PDF:\n%s", q.name, rp.text)
	}
	if strings.Contains(rp.text, "Eva") || strings.Contains(rp.text, "DUPONT") {
		t.Errorf("%s: the failed reply holds personal data:\n%s", q.name, rp.text)
	}
	folders := folderIDs(t, env)
	if !slices.Contains(folders["Manual"], q.id) {
		t.Errorf("%s: original in %v, want Manual", q.name, whereIs(folders, q.id))
	}
}

// TestRegistryUnavailable: the registry cannot be read. Each message is
// tried limits.max_attempts times, then ends failed with its generic reply
// and the original in Manual; messages that need no registry are handled
// meanwhile, and a registry that comes back in time changes nothing.
func TestRegistryUnavailable(t *testing.T) {
	t.Run("for good", func(t *testing.T) {
		env := newLocalEnv(t)
		reg := &faultyRegistry{DB: sampledb.SQLite(t)}
		reg.set(func(string) error { return errors.New("registry unreachable: connection refused") })
		cfg := reliabilityConfig(t)
		cfg.Limits.MaxAttempts = 2
		eva := sample(t, "01-eva-simple.eml", "db-down@reliability.test")
		other := sample(t, "13-autre-demande-ij.eml", "db-down-other@reliability.test")
		r := start(t, env, cfg, daemon.Options{Store: reg})
		deliverAll(t, env, []req{eva, other})
		results := r.collect(t, 2, 60*time.Second)
		checkResults(t, []req{other}, results)
		for _, res := range results {
			if res.MessageID == eva.id {
				failedReply(t, env, eva, res)
			}
		}
		if n := strings.Count(r.logs.String(), "cannot decide message now"); n != cfg.Limits.MaxAttempts {
			t.Errorf("the message was tried %d times, want limits.max_attempts = %d", n, cfg.Limits.MaxAttempts)
		}
		// The next message is handled as usual once the registry is back.
		reg.set(nil)
		next := sample(t, "01-eva-simple.eml", "db-back@reliability.test")
		deliverAll(t, env, []req{next})
		checkResults(t, []req{next}, r.collect(t, 1, 60*time.Second))
	})
	t.Run("back in time", func(t *testing.T) {
		env := newLocalEnv(t)
		reg := &faultyRegistry{DB: sampledb.SQLite(t)}
		var failures atomic.Int64
		reg.set(func(string) error {
			if failures.Add(1) <= 2 {
				return errors.New("registry unreachable")
			}
			return nil
		})
		cfg := reliabilityConfig(t)
		cfg.Limits.MaxAttempts = 3
		reqs := []req{sample(t, "01-eva-simple.eml", "db-flaky@reliability.test")}
		r := start(t, env, cfg, daemon.Options{Store: reg})
		deliverAll(t, env, reqs)
		checkResults(t, reqs, r.collect(t, 1, 60*time.Second))
		checkAll(t, env, reqs)
	})
}

// TestSameMessageIDTwice: two copies of one request (two UIDs, one
// Message-ID) get one reply, whether they arrive together or apart.
func TestSameMessageIDTwice(t *testing.T) {
	env := newLocalEnv(t)
	r := start(t, env, reliabilityConfig(t), daemon.Options{})
	q := sample(t, "02-benoit-famille-mentions.eml", "twice@reliability.test")
	next := sample(t, "05-marc-sans-adresse.eml", "after-twice@reliability.test")
	deliverAll(t, env, []req{q, q, next})
	results := r.collect(t, 3, 60*time.Second)
	env.deliver(t, q.raw) // a third copy, later
	results = append(results, r.collect(t, 1, 60*time.Second)...)
	var outcomes []rules.Outcome
	for _, res := range results {
		if res.MessageID == q.id {
			outcomes = append(outcomes, res.Outcome)
		}
	}
	if len(outcomes) != 3 || !slices.Contains(outcomes, rules.Issued) {
		t.Errorf("the three copies ended %v, want three results, one issued", outcomes)
	}
	replies := repliesByRequest(t, env)
	if len(replies[q.id]) != 1 || len(replies[next.id]) != 1 {
		t.Errorf("%d replies to the request sent three times, %d to the next; want one each", len(replies[q.id]), len(replies[next.id]))
	}
	folders := folderIDs(t, env)
	if n := countID(folders["Processed"], q.id); n != 3 || len(folders["INBOX"]) != 0 {
		t.Errorf("%d copies in Processed, %d messages left in INBOX; want 3 and 0", n, len(folders["INBOX"]))
	}
}

// TestPanicWhileDeciding: deciding one message panics, every time. The
// daemon keeps running, the others are handled, and that one ends failed
// after its attempts.
func TestPanicWhileDeciding(t *testing.T) {
	env := newLocalEnv(t)
	reg := &faultyRegistry{DB: sampledb.SQLite(t)}
	reg.set(func(key string) error {
		if key == "eva.dupont@example.org" {
			panic("registry driver bug")
		}
		return nil
	})
	cfg := reliabilityConfig(t)
	cfg.Limits.MaxAttempts = 2
	poison := sample(t, "01-eva-simple.eml", "poison@reliability.test")
	others := mix(t, 22, "beside-poison")
	others = slices.DeleteFunc(others, func(q req) bool { return strings.Contains(string(q.raw), "eva.dupont@example.org") })
	r := start(t, env, cfg, daemon.Options{Store: reg})
	deliverAll(t, env, append([]req{poison}, others...))
	results := r.collect(t, len(others)+1, 60*time.Second)
	checkResults(t, others, results)
	for _, res := range results {
		if res.MessageID == poison.id {
			failedReply(t, env, poison, res)
		}
	}
	next := sample(t, "05-marc-sans-adresse.eml", "after-poison@reliability.test")
	deliverAll(t, env, []req{next})
	checkResults(t, []req{next}, r.collect(t, 1, 60*time.Second))
}

// daemonProcess is `attestd run` started by a test.
type daemonProcess struct {
	cmd    *exec.Cmd
	stderr *logBuffer
	done   chan error
}

func startBinary(t testing.TB, bin, cfgPath string) *daemonProcess {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--today", today.String())
	cmd.Env = append(os.Environ(), "ATTESTD_TEST_IMAP_PASSWORD=secret")
	p := &daemonProcess{cmd: cmd, stderr: &logBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and returns the exit status.
func (p *daemonProcess) stop(t testing.TB) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

func (p *daemonProcess) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("attestd run did not exit 60 s after SIGTERM; its log:\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// TestSIGTERM runs the binary: on SIGTERM it stops fetching, finishes the
// message in flight (its reply out, its original filed) and exits 0; the
// next run handles the rest, and nothing is answered twice.
func TestSIGTERM(t *testing.T) {
	env := newLocalEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	env.smtp.SetFault(func(string, []string) error {
		first.Do(func() { close(entered); <-release })
		return nil
	})
	bin := buildAttestd(t)
	cfgPath := binaryConfig(t, env, filepath.Join(t.TempDir(), "attestd.db"), 1)
	reqs := mix(t, 5, "sigterm")
	deliverAll(t, env, reqs)
	p := startBinary(t, bin, cfgPath)
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatalf("no reply reached the relay; the daemon's log:\n%s", p.stderr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the daemon to acknowledge SIGTERM", func() bool {
		return strings.Contains(p.stderr.String(), "finishing what is in flight")
	})
	close(release)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; log:\n%s", code, p.stderr)
	}
	sent := env.sent(t)
	folders := folderIDs(t, env)
	if len(sent) != 1 {
		t.Fatalf("%d replies after the first run, want the one in flight", len(sent))
	}
	inFlight := strings.Trim(header(t, sent[0].Raw, "In-Reply-To"), "<>")
	if !slices.Contains(folders["Processed"], inFlight) {
		t.Errorf("the message in flight was answered but not filed: %v", whereIs(folders, inFlight))
	}
	if len(folders["INBOX"]) != len(reqs)-1 {
		t.Errorf("%d messages left in the INBOX, want %d: fetching must stop at SIGTERM", len(folders["INBOX"]), len(reqs)-1)
	}

	p = startBinary(t, bin, cfgPath)
	eventually(t, 60*time.Second, "the second run to handle the rest", func() bool {
		return len(env.sent(t)) >= countReplies(reqs) && len(folderIDs(t, env)["INBOX"]) == 0
	})
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; log:\n%s", code, p.stderr)
	}
	checkAll(t, env, reqs)
}

// TestRetention: the raw content of handled requests and of their replies
// is purged once older than outbox.retention; outcomes stay. The job runs
// at start, then every hour; the clock is the daemon's.
func TestRetention(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func(at time.Time) func() time.Time { return func() time.Time { return at } }
	cfg := reliabilityConfig(t)
	cfg.Outbox.Retention = config.Duration(720 * time.Hour)
	reqs := []req{sample(t, "01-eva-simple.eml", "retention@reliability.test")}
	r := start(t, env, cfg, daemon.Options{Store: db, Now: clock(t0)})
	deliverAll(t, env, reqs)
	r.collect(t, 1, 60*time.Second)
	r.stop()
	items, err := db.ListOutbox(context.Background())
	if err != nil || len(items) != 1 {
		t.Fatalf("outbox: %v, %v", items, err)
	}
	claimID := items[0].ClaimID
	kept := func() (request, reply bool) {
		raw, err := db.ClaimRaw(context.Background(), claimID)
		if err != nil {
			t.Fatal(err)
		}
		it, err := db.OutboxForClaim(context.Background(), claimID)
		if err != nil {
			t.Fatal(err)
		}
		return raw != nil, it.Raw != nil
	}

	r = start(t, env, cfg, daemon.Options{Store: db, Now: clock(t0.Add(719 * time.Hour))})
	waitLog(t, r, "retention", 1, 30*time.Second)
	r.stop()
	if request, reply := kept(); !request || !reply {
		t.Errorf("after 719 h: request kept %v, reply kept %v; want both kept", request, reply)
	}

	r = start(t, env, cfg, daemon.Options{Store: db, Now: clock(t0.Add(721 * time.Hour))})
	waitLog(t, r, "retention", 1, 30*time.Second)
	r.stop()
	if request, reply := kept(); request || reply {
		t.Errorf("after 721 h: request kept %v, reply kept %v; want both purged", request, reply)
	}
	c, err := db.ClaimByID(context.Background(), claimID)
	if err != nil || c.Outcome != rules.Issued || c.Reference == "" {
		t.Errorf("the outcome record must stay: %+v, %v", c, err)
	}
}

// countingStore counts the reply jobs' looks at their reply.
type countingStore struct {
	*store.DB
	looks atomic.Int64
}

func (c *countingStore) OutboxByID(ctx context.Context, id int64) (*store.OutboxItem, error) {
	c.looks.Add(1)
	return c.DB.OutboxByID(ctx, id)
}

// slowMailer holds its first Send until released, and counts the Sends of
// each message.
type slowMailer struct {
	blocked, release chan struct{}
	mu               sync.Mutex
	calls            int
	sends            map[string]int // by the reply's Message-ID
}

func (m *slowMailer) Send(_ context.Context, _ string, _ []string, raw []byte) error {
	m.mu.Lock()
	m.calls++
	first := m.calls == 1
	m.sends[rawMessageID(raw)]++
	m.mu.Unlock()
	if first {
		close(m.blocked)
		<-m.release
	}
	return nil
}

// TestSendingNotRetriedMeanwhile: while the worker is sending a reply (the
// relay slower than smtp.timeout, which this mailer ignores), the reply's
// job, due once the grace after smtp.timeout is over, finds it pending and
// leaves it alone.
func TestSendingNotRetriedMeanwhile(t *testing.T) {
	env := newLocalEnv(t)
	st := &countingStore{DB: sampledb.SQLite(t)}
	m := &slowMailer{blocked: make(chan struct{}), release: make(chan struct{}), sends: map[string]int{}}
	cfg := reliabilityConfig(t)
	cfg.SMTP.Timeout = config.Duration(100 * time.Millisecond) // the job's grace: 10.1 s
	r := start(t, env, cfg, daemon.Options{Store: st, Mailer: m})
	reqs := mix(t, 3, "slow")
	deliverAll(t, env, reqs)
	select {
	case <-m.blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("no reply was sent")
	}
	eventually(t, 60*time.Second, "two looks of the reply's job during the send", func() bool { return st.looks.Load() >= 2 })
	close(m.release)
	checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.sends {
		if n != 1 {
			t.Errorf("reply %s sent %d times, want once", id, n)
		}
	}
	if len(m.sends) != countReplies(reqs) {
		t.Errorf("%d replies sent, want %d", len(m.sends), countReplies(reqs))
	}
}

// forgetfulStore fails every MarkDone: the messages are filed, their
// claims stay open, as after a crash between the MOVE and MarkDone.
type forgetfulStore struct{ *store.DB }

func (forgetfulStore) MarkDone(context.Context, int64, time.Time) error {
	return errors.New("store unreachable")
}

func (forgetfulStore) MarkDoneAll(context.Context, []int64, time.Time) error {
	return errors.New("store unreachable")
}

// TestResumeClosesFiledClaims: a restart closes the ledger entries of
// messages that were filed before the crash, without answering them again.
func TestResumeClosesFiledClaims(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	reqs := mix(t, 22, "resume")
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: forgetfulStore{db}})
	deliverAll(t, env, reqs)
	checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
	r.stop()
	open, err := db.Unfinished(context.Background(), "INBOX")
	if err != nil || len(open) != len(reqs) {
		t.Fatalf("%d claims left open by the failing MarkDone (%v), want %d", len(open), err, len(reqs))
	}
	r = start(t, env, reliabilityConfig(t), daemon.Options{Store: db})
	waitLog(t, r, "claim closed on resumption", len(reqs), 30*time.Second)
	open, err = db.Unfinished(context.Background(), "INBOX")
	if err != nil || len(open) != 0 {
		t.Errorf("%d claims still open after the restart (%v)", len(open), err)
	}
	checkAll(t, env, reqs)
}

// TestRetentionConfig: a negative outbox.retention is refused by name.
func TestRetentionConfig(t *testing.T) {
	t.Setenv("ATTESTD_TEST_IMAP_PASSWORD", "x")
	_, err := config.Parse([]byte("imap: {username: u, password_env: ATTESTD_TEST_IMAP_PASSWORD}\n" +
		"trust: {authserv_ids: [mx.example]}\noutbox: {retention: -1h}\n"))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "outbox.retention" {
		t.Errorf("negative retention: %v, want an error naming outbox.retention", err)
	}
}

// TestSuspectsDecidedAlone: messages that a previous run claimed but never
// decided (it was killed) are decided one at a time with nothing beside
// them, so that a message that crashes the daemon is not blamed on its
// neighbours; the others are decided as usual.
func TestSuspectsDecidedAlone(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	reqs := mix(t, 8, "suspect")
	deliverAll(t, env, reqs)
	snap, err := env.imap.Mailbox(serviceUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	suspects := map[string]bool{"marc.leroy@example.com": true, "sophie.martin@example.fr": true} // 05 and 07
	for _, m := range snap.Messages {
		q := reqs[slices.IndexFunc(reqs, func(q req) bool { return q.id == rawMessageID(m.Raw) })]
		if q.want.ReplyTo != nil && suspects[*q.want.ReplyTo] {
			key := store.MessageKey{Mailbox: "INBOX", UIDValidity: snap.UIDValidity, UID: m.UID}
			if _, err := db.Claim(context.Background(), key, q.id, q.raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		mu                  sync.Mutex
		inflight, suspectIn int
		overlaps            []string
	)
	reg := &faultyRegistry{DB: db}
	reg.set(func(key string) error {
		mu.Lock()
		if suspects[key] && inflight > 0 || suspectIn > 0 {
			overlaps = append(overlaps, key)
		}
		inflight++
		if suspects[key] {
			suspectIn++
		}
		mu.Unlock()
		time.Sleep(30 * time.Millisecond) // a slow look-up: others would start meanwhile
		mu.Lock()
		inflight--
		if suspects[key] {
			suspectIn--
		}
		mu.Unlock()
		return nil
	})
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: reg})
	checkResults(t, reqs, r.collect(t, len(reqs), 60*time.Second))
	checkAll(t, env, reqs)
	mu.Lock()
	defer mu.Unlock()
	if len(overlaps) > 0 {
		t.Errorf("a suspect was decided beside other messages (look-ups of %v overlapped)", overlaps)
	}
}

// unrecordingStore fails the first failures MarkSent calls: the relay has
// the reply, the store cannot say so yet.
type unrecordingStore struct {
	*store.DB
	failures atomic.Int64
}

func (s *unrecordingStore) MarkSent(ctx context.Context, id int64, now time.Time) error {
	if s.failures.Add(-1) >= 0 {
		return errors.New("database is locked")
	}
	return s.DB.MarkSent(ctx, id, now)
}

// TestSentButNotRecorded: the relay accepted a reply but recording it
// fails for a while. The daemon keeps trying to record it and never sends
// it again; the original is filed once it is recorded.
func TestSentButNotRecorded(t *testing.T) {
	env := newLocalEnv(t)
	st := &unrecordingStore{DB: sampledb.SQLite(t)}
	st.failures.Store(6) // more than one delivery's tries
	reqs := []req{sample(t, "01-eva-simple.eml", "unrecorded@reliability.test")}
	r := start(t, env, reliabilityConfig(t), daemon.Options{Store: st})
	deliverAll(t, env, reqs)
	checkResults(t, reqs, r.collect(t, 1, 60*time.Second))
	checkAll(t, env, reqs)
	if !strings.Contains(r.logs.String(), "reply sent but not recorded") {
		t.Errorf("the log does not say a reply was sent but not recorded")
	}
	if n := st.failures.Load(); n >= 0 {
		t.Errorf("MarkSent failed %d times fewer than planned: the test did not test", n+1)
	}
}
