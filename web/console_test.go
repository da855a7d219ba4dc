package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

func sample(t testing.TB, prefix string) []byte {
	t.Helper()
	for _, r := range samples.Requests() {
		if strings.HasPrefix(r.Name, prefix) {
			return r.Raw
		}
	}
	t.Fatalf("no sample %s", prefix)
	return nil
}

// waitEntry waits until the ledger holds a done row in folder for the
// message with that Message-ID.
func (e *env) waitEntry(t testing.TB, messageID, folder string) store.Entry {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rows, err := e.db.Entries(context.Background(), store.EntryFilter{MessageID: messageID})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0].State == store.StateDone && rows[0].Folder == folder {
			return rows[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("message %s never filed in %s", messageID, folder)
	return store.Entry{}
}

// manualMessages runs a daemon and files two messages in Manual: Eva's
// request, failed while the registry was down (it is back once this
// returns), and a request for another document.
func manualMessages(t *testing.T) (e *env, failed, other store.Entry) {
	e = newEnv(t, true, nil)
	e.flaky.down.Store(true)
	for _, p := range []string{"01-", "13-"} {
		if _, err := e.imap.Append(serviceUser, "INBOX", sample(t, p)); err != nil {
			t.Fatal(err)
		}
	}
	failed = e.waitEntry(t, "req-001.2094@example.org", "Manual")
	other = e.waitEntry(t, "req-013.2284@example.org", "Manual")
	if failed.Outcome != rules.Failed || other.Outcome != rules.NotAttestation {
		t.Fatalf("outcomes %s and %s, want failed (registry down) and not_attestation", failed.Outcome, other.Outcome)
	}
	e.flaky.down.Store(false)
	return e, failed, other
}

var linkRE = regexp.MustCompile(`href="/messages/(\d+)"`)

// TestConsoleRetryManualMessage: a request fails while the registry is
// down and lands in Manual with the "n'a pas abouti" reply; once it is
// back, an operator finds it in the console and retries it, and the
// attestation goes out. A viewer cannot retry; a form without its CSRF
// token is refused.
func TestConsoleRetryManualMessage(t *testing.T) {
	e, failed, _ := manualMessages(t)
	id := strconv.FormatInt(failed.ID, 10)

	viewer := e.browser(t)
	vtok := viewer.login("victor", "victor-pw")
	_, page := viewer.get("/messages/" + id)
	if strings.Contains(page, `id="retry"`) {
		t.Error("the viewer's page offers the retry button")
	}
	if code, _, _ := viewer.post("/messages/"+id+"/retry", url.Values{"csrf": {vtok}}); code != http.StatusForbidden {
		t.Errorf("viewer retry: %d, want 403", code)
	}

	op := e.browser(t)
	op.login("alice", "alice-pw")
	_, list := op.get("/manual")
	if !strings.Contains(list, `href="/messages/`+id+`"`) || !strings.Contains(list, "(failed)") {
		t.Fatalf("Manual list does not show message %s as failed:\n%s", id, list)
	}
	_, page = op.get("/messages/" + id)
	for _, want := range []string{"Attestation de droits", "eva.dupont@example.org", "Pouvez-vous m&#39;envoyer", `id="retry"`} {
		if !strings.Contains(page, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	if code, _, _ := op.post("/messages/"+id+"/retry", url.Values{"comment": {"registre revenu"}}); code != http.StatusForbidden {
		t.Errorf("retry without CSRF token: %d, want 403", code)
	}
	code, loc, body := op.post("/messages/"+id+"/retry", url.Values{"csrf": {csrf(t, page)}, "comment": {"registre revenu"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/messages/"+id) {
		t.Fatalf("retry: %d %q\n%s", code, loc, body)
	}
	issued := e.waitEntry(t, "req-001.2094@example.org", "Processed")
	if issued.Outcome != rules.Issued {
		t.Fatalf("after retry: %s, want issued", issued.Outcome)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent, err := e.smtp.Wait(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if last := sent[len(sent)-1]; last.To[0] != "eva.dupont@example.org" || !strings.Contains(string(last.Raw), "application/pdf") {
		t.Errorf("the reply after retry is not the attestation to Eva: %v", last.To)
	}
	_, page = op.get("/messages/" + id)
	if !regexp.MustCompile(`alice</td><td>retry</td><td>registre revenu`).MatchString(page) {
		t.Errorf("the audit log of the message lacks alice's retry:\n%s", page)
	}
	_, page = op.get("/search?q=" + url.QueryEscape(issued.Reference))
	if !strings.Contains(page, `href="/messages/`+id+`"`) {
		t.Errorf("search by reference %s does not find the message", issued.Reference)
	}
}

// TestConsoleHandledAndSearchByNIR: marking a message handled is in its
// audit log; a search by NIR finds the compte's messages (those attributed to it) and never shows
// the NIR in clear.
func TestConsoleHandledAndSearchByNIR(t *testing.T) {
	e := newEnv(t, true, nil)
	for _, p := range []string{"13-", "01-"} {
		if _, err := e.imap.Append(serviceUser, "INBOX", sample(t, p)); err != nil {
			t.Fatal(err)
		}
	}
	other := e.waitEntry(t, "req-013.2284@example.org", "Manual")
	eva := e.waitEntry(t, "req-001.2094@example.org", "Processed")
	id := strconv.FormatInt(other.ID, 10)
	op := e.browser(t)
	tok := op.login("alice", "alice-pw")
	// The dashboard shows the daemon's metrics: the work connection that
	// filed the two messages, and the reply sent to Eva.
	// The metrics are counted just after the ledger is written: wait.
	var page string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, page = op.get("/"); strings.Contains(page, "2 décisions, 1 réponses envoyées") {
			break
		}
	}
	if !strings.Contains(page, `id="imap-work">connectée`) || !strings.Contains(page, "2 décisions, 1 réponses envoyées") {
		t.Errorf("dashboard lacks the service state:\n%s", page)
	}
	if code, _, _ := op.post("/messages/"+id+"/handled", url.Values{"csrf": {tok}, "comment": {"transmis au service IJ"}}); code != http.StatusSeeOther {
		t.Fatalf("mark handled: %d", code)
	}
	_, page = op.get("/messages/" + id)
	if !strings.Contains(page, "alice</td><td>handled</td><td>transmis au service IJ") {
		t.Errorf("audit log lacks the handled entry:\n%s", page)
	}
	const evaNIR = "290107511104250"
	code, _, page := op.post("/search", url.Values{"csrf": {tok}, "q": {evaNIR}})
	if code != http.StatusOK {
		t.Fatalf("search form: %d", code)
	}
	if strings.Contains(page, evaNIR) || !strings.Contains(page, "2 ** ** ** *** *** 50") {
		t.Errorf("search by NIR shows it in clear or not masked")
	}
	// The other request was not an attestation request: never attributed
	// to a compte, it is not found by NIR.
	if got := linkRE.FindAllStringSubmatch(page, -1); len(got) != 1 || got[0][1] != strconv.FormatInt(eva.ID, 10) {
		t.Errorf("search by Eva's NIR finds %v, want only her attestation request %d", got, eva.ID)
	}
	if code, _ := e.browser(t).get("/search?q=" + evaNIR); code != http.StatusSeeOther {
		t.Errorf("search without a session: %d, want a redirect to the log-in", code)
	}
}

func TestConsoleLockout(t *testing.T) {
	e := newEnv(t, false, nil)
	b := e.browser(t)
	for i := range 5 {
		_, page := b.get("/login")
		code, loc, _ := b.post("/login", url.Values{"csrf": {csrf(t, page)}, "name": {"alice"}, "password": {"guess" + strconv.Itoa(i)}})
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?e=") {
			t.Fatalf("wrong password %d: %d %q", i, code, loc)
		}
	}
	_, page := b.get("/login")
	_, loc, _ := b.post("/login", url.Values{"csrf": {csrf(t, page)}, "name": {"alice"}, "password": {"alice-pw"}})
	if loc != "/login?e=locked" {
		t.Fatalf("the right password right after five failures: sent to %q, want the lock-out", loc)
	}
	if _, page := b.get(loc); !strings.Contains(page, "ce compte est bloqué") {
		t.Error("the log-in page does not say the name is locked out")
	}
	if code, _, _ := b.post("/login", url.Values{"name": {"victor"}, "password": {"victor-pw"}}); code != http.StatusForbidden {
		t.Errorf("log-in form without its CSRF token: %d, want 403", code)
	}
	if n, _ := e.db.AuditLog(context.Background(), 0, 100); len(n) != 6 {
		t.Errorf("%d audit entries, want 6 failed log-ins", len(n))
	}
}

// TestConsoleTrustedProxy: behind the site's SSO, the user the reverse
// proxy names gets a session with his configured role; the header is not
// believed from any other address.
func TestConsoleTrustedProxy(t *testing.T) {
	for _, c := range []struct {
		proxies []string
		name    string
		want    int
	}{
		{[]string{"127.0.0.0/8"}, "victor", http.StatusOK},
		{[]string{"127.0.0.1"}, "nobody", http.StatusSeeOther},
		{[]string{"10.0.0.0/8"}, "victor", http.StatusSeeOther},
	} {
		e := newEnv(t, false, func(cfg *config.Config) {
			cfg.Console.TrustedHeader, cfg.Console.TrustedProxies = "X-Remote-User", c.proxies
		})
		b := e.browser(t)
		req, _ := http.NewRequest(http.MethodGet, e.web.URL+"/", nil)
		req.Header.Set("X-Remote-User", c.name)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s from 127.0.0.1, trusted %v: %d, want %d", c.name, c.proxies, resp.StatusCode, c.want)
			continue
		}
		if c.want != http.StatusOK {
			continue
		}
		if !strings.Contains(string(page), "victor (lecteur)") {
			t.Errorf("the proxy's user is not shown with his role")
		}
		// The session the header opened carries a CSRF token; the role
		// still holds.
		if code, _, _ := b.post("/outbox/1/retry", url.Values{"csrf": {csrf(t, string(page))}}); code != http.StatusForbidden {
			t.Errorf("viewer behind the proxy retries: %d, want 403", code)
		}
	}
}

// TestConsoleLoginBothHashes: alice's hash is bcrypt, victor's argon2id;
// each logs in with his password and not with another.
func TestConsoleLoginBothHashes(t *testing.T) {
	e := newEnv(t, false, nil)
	for _, u := range []struct{ name, pw string }{{"alice", "alice-pw"}, {"victor", "victor-pw"}} {
		b := e.browser(t)
		for _, c := range []struct {
			pw, want string
		}{{u.pw + "x", "/login?e=wrong"}, {strings.ToUpper(u.pw), "/login?e=wrong"}, {u.pw, "/"}} {
			_, page := b.get("/login")
			_, loc, _ := b.post("/login", url.Values{"csrf": {csrf(t, page)}, "name": {u.name}, "password": {c.pw}})
			if loc != c.want {
				t.Errorf("%s with %q: sent to %q, want %q", u.name, c.pw, loc, c.want)
			}
		}
	}
}

// The log-in page says why the last log-in failed, from a code in its URL:
// a link cannot make it show a text of its own.
func TestLoginPageShowsOnlyItsMessages(t *testing.T) {
	e := newEnv(t, false, nil)
	b := e.browser(t)
	if _, page := b.get("/login?e=wrong"); !strings.Contains(page, "Identifiant ou mot de passe incorrect.") {
		t.Error("/login?e=wrong does not say the password was wrong")
	}
	forged := "Mot de passe expiré : appelez le 01 02 03 04 05"
	if _, page := b.get("/login?e=" + url.QueryEscape(forged)); strings.Contains(page, "appelez") {
		t.Error("the log-in page shows a text taken from its URL")
	}
}

// Only /verify, /healthz and the log-in page answer without a session.
func TestPagesWithoutSession(t *testing.T) {
	e := newEnv(t, false, nil)
	b := e.browser(t)
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/verify": http.StatusOK, "/login": http.StatusOK,
		"/": http.StatusSeeOther, "/manual": http.StatusSeeOther, "/outbox": http.StatusSeeOther, "/messages/1": http.StatusSeeOther} {
		if code, body := b.get(path); code != want || (path == "/healthz" && body != "ok\n") {
			t.Errorf("GET %s without a session: %d %q, want %d", path, code, body[:min(len(body), 40)], want)
		}
	}
}
