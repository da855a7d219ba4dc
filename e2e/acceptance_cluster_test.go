package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cpam/attestd/internal/mailenv"
)

// lyonUser is the second mailbox of the cluster, in deploy/dovecot/users
// beside the one .ci/servers.sh exports.
const lyonUser = "lyon@cpam.example"

// TestClusterAcceptance runs `attestd acceptance` (the 22 samples) against
// three `attestd run` replicas on PostgreSQL that share two Dovecot
// mailboxes, the replies read back from Mailpit: every sample must pass,
// and every replica must stop on SIGTERM with status 0. It needs the
// servers of .ci/servers.sh and ATTESTD_TEST_POSTGRES_DSN; .ci/run runs it
// on fresh servers.
func TestClusterAcceptance(t *testing.T) {
	servers := mailenv.Require(t)
	dsn := os.Getenv("ATTESTD_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ATTESTD_TEST_POSTGRES_DSN not set: the replicas need PostgreSQL")
	}
	bin := needBinary(t)
	lyonPassword := dovecotPassword(t, lyonUser)
	ctx := context.Background()
	lyon := *servers
	lyon.IMAPUser, lyon.IMAPPassword = lyonUser, lyonPassword
	for _, mb := range []*mailenv.Env{servers, &lyon} {
		if err := mb.ResetIMAP(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := servers.Mailpit().DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}

	e := &env{dir: t.TempDir(), bin: bin}
	e.postgresStore(t, dsn, "attestd_accept")
	e.environ = []string{"ATTESTD_CLUSTER_IMAP_PASSWORD=" + servers.IMAPPassword, "ATTESTD_CLUSTER_LYON_PASSWORD=" + lyonPassword}
	cfg := fmt.Sprintf(`service: {address: attestation@cpam.example, domain: cpam.example}
imap:
  address: %q
  idle_wakeup: 100ms
  mailboxes:
    - {name: national, username: %q, password_env: ATTESTD_CLUSTER_IMAP_PASSWORD}
    - {name: lyon, username: %q, password_env: ATTESTD_CLUSTER_LYON_PASSWORD, reply_from: attestation-lyon@cpam.example, organisme: "CPAM du Rhône"}
smtp: {address: %q}
store: {driver: postgres, dsn: %q}
trust:
  authserv_ids: [mx.attestation.example]
  agent_domains: [agents.cpam.example]
  gateway: {domain: messagerie.ameli.example, header: X-Ameli-NIR}
`, servers.IMAPAddr, servers.IMAPUser, lyonUser, servers.SMTPAddr, e.dsn)
	e.config = filepath.Join(e.dir, "attestd.yaml")
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	reps := make([]*replica, 3)
	for i := range reps {
		reps[i] = &replica{id: i}
		e.startReplica(t, reps[i])
	}

	t.Setenv("ATTESTD_ACCEPTANCE_IMAP_PASSWORD", servers.IMAPPassword)
	code, stdout, stderr := attestd(t, "acceptance", "--timeout", "30s", "--registry", "../samples/registry.json",
		"--imap", "imap://"+servers.IMAPUser+"@"+servers.IMAPAddr+"/INBOX", "--replies", "mailpit+"+servers.MailpitAPI)
	fmt.Print(stdout)
	if code != 0 || lastLine(stdout) != "22 passed, 0 failed" {
		var logs []string
		for _, r := range reps {
			logs = append(logs, fmt.Sprintf("replica %d:\n%s", r.id, r.p.tail()))
		}
		t.Errorf("attestd acceptance: exit %d, last line %q\nstderr:\n%s\n%s", code, lastLine(stdout), stderr, strings.Join(logs, "\n"))
	}
	for _, r := range reps {
		if r.p.exited() {
			t.Errorf("replica %d exited during the run; its log:\n%s", r.id, r.p.tail())
			continue
		}
		if code := r.p.signal(t, syscall.SIGTERM); code != 0 {
			t.Errorf("replica %d exited %d on SIGTERM, want 0; its log:\n%s", r.id, code, r.p.tail())
		}
	}
}

// dovecotPassword reads the test password of user from
// deploy/dovecot/users, the file CI's and compose's Dovecot use.
func dovecotPassword(t *testing.T, user string) string {
	t.Helper()
	f, err := os.Open("../deploy/dovecot/users")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, pw, ok := strings.Cut(sc.Text(), ":{PLAIN}"); ok && name == user {
			return pw
		}
	}
	t.Fatalf("deploy/dovecot/users has no {PLAIN} password for %s", user)
	return ""
}
