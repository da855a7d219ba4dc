package e2e

import (
	"bufio"
	"bytes"
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
	"github.com/cpam/attestd/internal/testkit/attestdbin"
	"github.com/cpam/attestd/samples"
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
	// limits.max_attempts is above the number of kills: a request claimed
	// by every killed run (on a loaded machine a run can be killed before
	// it decides its first request, again and again) must not end failed,
	// the outcome of a request that makes the daemon fail by itself
	// (daemon.TestPanicWhileDeciding). The kills are the test's, not the
	// request's.
	cfg := attestdbin.Config{IMAP: e.imap.Addr(), User: user, PasswordEnv: "ATTESTD_CRASH_IMAP_PASSWORD",
		SMTP: e.smtp.Addr(), DSN: e.dsn, DailyLimit: 100000, MaxAttempts: kills + 1}.YAML()
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
