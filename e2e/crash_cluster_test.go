package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/pgtemp"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

const (
	// clusterMaxKillGap bounds the random time between two kills of the
	// cluster test. A killed replica holds its mailbox leases until they
	// expire (a few seconds), so kills much closer than that would only
	// ever find the cluster waiting for a takeover; at 0.75 s apart on
	// average, most kills land while requests are being decided, sent or
	// filed, some while a lease changes hands.
	clusterMaxKillGap = 1500 * time.Millisecond
	// clusterKillSlack is how long after a kill the SMTP server may still
	// note a reply of the killed replica as accepted: the kernel delivers
	// the data the process wrote, and on a loaded machine the server's
	// goroutine gets to it tens of milliseconds later.
	clusterKillSlack = 100 * time.Millisecond
	// clusterPerKill is the default number of requests a kill.
	clusterPerKill = 30
	// clusterDrain bounds the wait, after the last kill, for every request
	// to be filed and every reply recorded sent. The slowest path is a
	// reply job that was running on a killed replica: River gives it back
	// only after its rescue delay, on its leader's next rescue pass (every
	// 30 s), after a leader election if the leader was the one killed
	// (about 20 s); a mailbox whose holder was killed waits for its lease
	// to expire (under 5 s). Five minutes is several times all of that.
	clusterDrain = 5 * time.Minute
)

// clusterBoxes are the mailboxes of the cluster test: two caisses, each
// its own IMAP account.
var clusterBoxes = []struct{ name, user, password, organisme string }{
	{"paris", "paris@cpam.example", "crash-paris", "CPAM de Paris"},
	{"lyon", "lyon@cpam.example", "crash-lyon", "CPAM du Rhône"},
}

// replicasFromEnv reads ATTESTD_CRASH_REPLICAS (default 1: the SQLite test).
func replicasFromEnv(t *testing.T) int {
	t.Helper()
	v := os.Getenv("ATTESTD_CRASH_REPLICAS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("ATTESTD_CRASH_REPLICAS=%q: want a whole number of replicas, 1 or more", v)
	}
	return n
}

// setUpCluster starts the servers and a PostgreSQL schema of the test's own
// with the sample registry, and writes the replicas' configuration.
func setUpCluster(t *testing.T, kills int) *env {
	t.Helper()
	dsn := os.Getenv("ATTESTD_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Fatal("ATTESTD_CRASH_REPLICAS runs the replicas on PostgreSQL: set ATTESTD_TEST_POSTGRES_DSN " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	accounts := map[string]string{}
	for _, b := range clusterBoxes {
		accounts[b.user] = b.password
	}
	e := startServers(t, accounts)
	e.postgresStore(t, dsn, "attestd_crash")
	var boxes strings.Builder
	for _, b := range clusterBoxes {
		env := "ATTESTD_CRASH_IMAP_PASSWORD_" + strings.ToUpper(b.name)
		fmt.Fprintf(&boxes, "    - {name: %s, username: %s, password_env: %s, mailbox: INBOX, organisme: %q}\n",
			b.name, b.user, env, b.organisme)
		e.boxes = append(e.boxes, box{user: b.user, ledger: b.name})
		e.environ = append(e.environ, env+"="+b.password)
	}
	exp := samples.ExpectedCases()
	// max_attempts (of a decision and of a reply) above the number of
	// kills, as in setUp: the kills are the test's, not the request's.
	cfg := fmt.Sprintf(`service: {address: %s, domain: cpam.example}
imap:
  address: %s
  idle_wakeup: 50ms
  poll_interval: 1s
  mailboxes:
%ssmtp: {address: %s, timeout: 5s}
store: {driver: postgres, dsn: %q}
trust:
  authserv_ids: [%s]
  agent_domains: [%s]
  gateway: {domain: %s, header: %s}
limits: {attestations_per_compte_per_day: 100000, generic_replies_per_address_per_day: 100000, max_attempts: %d}
outbox: {retry_initial: 100ms, retry_max: 1s, max_attempts: %d}
`, exp.ServiceAddress, e.imap.Addr(), boxes.String(), e.smtp.Addr(), e.dsn, exp.TrustedAuthservID,
		strings.Join(exp.AgentDomains, ", "), exp.GatewayDomain, exp.GatewayHeader, kills+1, kills+20)
	e.config = e.dir + "/attestd.yaml"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// postgresStore makes the store of e a schema of its own in the database
// of dsn (dropped at the end, unless ATTESTD_CRASH_KEEP is set), loaded
// with the sample registry.
func (e *env) postgresStore(t *testing.T, dsn, prefix string) {
	t.Helper()
	ctx := context.Background()
	schema, err := pgtemp.New(ctx, dsn, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("ATTESTD_CRASH_KEEP") != "" {
			t.Logf("ATTESTD_CRASH_KEEP: the store stays in schema %s", schema.Name)
			return
		}
		if err := schema.Drop(ctx); err != nil {
			t.Log(err)
		}
	})
	e.driver, e.dsn = store.DriverPostgres, schema.DSN
	db, err := store.Open(ctx, e.driver, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := samples.LoadInto(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// replica is one member of the cluster: its current run and how many runs
// it has had.
type replica struct {
	id     int
	p      *process
	runs   int
	start  time.Time // of the current run
	config string    // e.config with the replica's own sent journal file
}

// startReplica starts a run of r. Each replica keeps its sent journal in
// a file of its own beside the database's note, as deploy/ sets it up: the
// file, one write(2) after the final dot, is what keeps a replica killed in
// the note's round trip from having its reply sent again by another.
func (e *env) startReplica(t *testing.T, r *replica) {
	t.Helper()
	if r.config == "" {
		base, err := os.ReadFile(e.config)
		if err != nil {
			t.Fatal(err)
		}
		journal := fmt.Sprintf("journal: %q", filepath.Join(e.dir, fmt.Sprintf("replica-%d.sent", r.id)))
		cfg := strings.Replace(string(base), "outbox: {", "outbox: {"+journal+", ", 1)
		if cfg == string(base) {
			cfg += "outbox: {" + journal + "}\n"
		}
		r.config = filepath.Join(e.dir, fmt.Sprintf("attestd-%d.yaml", r.id))
		if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.start = time.Now()
	r.p = e.startWith(t, fmt.Sprintf("replica-%d-run-%03d", r.id, r.runs), r.config)
	r.runs++
}

// crashCluster is TestCrash with n replicas on PostgreSQL over two
// mailboxes: the requests arrive in shares, one before each kill; between
// kills the test waits a random time, then SIGKILLs a random replica and
// restarts it at once. After the last kill it delivers the last share,
// waits until every mailbox's INBOX is empty and the store has nothing
// open (no undecided or unsent ledger entry, no reply waiting), stops every
// replica with SIGTERM (each must exit 0) and checks every request as the
// single-replica test does.
func crashCluster(t *testing.T, n int) {
	s := settingsFromEnv(t, clusterPerKill)
	began := time.Now()
	e := setUpCluster(t, s.kills)
	reqs := stream(s.requests, len(e.boxes))
	rng := rand.New(rand.NewPCG(s.seed, 0))
	t.Logf("replicas=%d mailboxes=%d kills=%d requests=%d seed=%d (ATTESTD_CRASH_SEED=%d replays these kill moments)",
		n, len(e.boxes), s.kills, s.requests, s.seed, s.seed)

	reps := make([]*replica, n)
	for i := range reps {
		reps[i] = &replica{id: i}
		e.startReplica(t, reps[i])
	}
	alive := func() {
		for _, r := range reps {
			if r.p.exited() {
				t.Fatalf("replica %d (run %d) exited by itself; its log:\n%s", r.id, r.runs-1, r.p.tail())
			}
		}
	}
	f := &feed{e: e, reqs: reqs, parts: s.kills + 1}
	var (
		runs []span
		busy int // kills that left requests to do
	)
	for k := range s.kills {
		f.share(t, k)
		time.Sleep(time.Duration(rng.Int64N(int64(clusterMaxKillGap))))
		alive()
		r := reps[rng.IntN(n)]
		sp := span{start: r.start, kill: time.Now()}
		sp.until = sp.kill.Add(clusterKillSlack)
		r.p.signal(t, syscall.SIGKILL)
		e.startReplica(t, r)
		runs = append(runs, sp)
		if e.inboxes(t) > 0 {
			busy++
		}
	}
	f.share(t, s.kills)

	last := time.Now()
	e.drainCluster(t, alive)
	drained := time.Since(last)
	for _, r := range reps {
		if code := r.p.signal(t, syscall.SIGTERM); code != 0 {
			t.Errorf("replica %d exited %d on SIGTERM, want 0; its log:\n%s", r.id, code, r.p.tail())
		}
	}

	c := e.check(t, reqs, runs)
	e.keep(t)
	fmt.Printf("crash test: replicas=%d mailboxes=%d store=postgres requests=%d replies=%d kills=%d (%d with requests left to do) seed=%d duration=%v (drain after the last kill %v)\n",
		n, len(e.boxes), s.requests, c.replies, s.kills, busy, s.seed, time.Since(began).Round(100*time.Millisecond), drained.Round(100*time.Millisecond))
	replayed, expired := e.heldReplies(t)
	fmt.Printf("replies a killed replica was sending: %d sent by another after its restart, %d after outbox.sender_wait\n", replayed, expired)
	c.judge(t, s.seed)
}

// heldReplies counts, in every replica's logs, the replies another replica
// sent once their killed sender had read its journal again, and those sent
// after outbox.sender_wait without it (queue.takeSend's log lines).
func (e *env) heldReplies(t *testing.T) (replayed, expired int) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(e.dir, "replica-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		replayed += bytes.Count(b, []byte("has read its sent journal since"))
		expired += bytes.Count(b, []byte("sent here after outbox.sender_wait"))
	}
	return replayed, expired
}

// drainCluster waits until every INBOX is empty and the store holds no
// open ledger entry and no reply waiting to be sent, calling alive between
// looks; it fails the test after clusterDrain.
func (e *env) drainCluster(t *testing.T, alive func()) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, e.driver, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(clusterDrain)
	for {
		alive()
		inbox := e.inboxes(t)
		open := 0
		for _, b := range e.boxes {
			cl, err := db.Unfinished(ctx, b.ledger)
			if err != nil {
				t.Fatal(err)
			}
			open += len(cl)
		}
		waiting, err := db.OutboxDepth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if inbox+open+waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the last kill: %d messages in the INBOXes, %d ledger entries open, %d replies waiting",
				clusterDrain, inbox, open, waiting)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
