package acceptance_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/acceptance"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// fakeDeployment plays a deployment from a script: for each case, the
// folder its original ends in and the replies it gets. It serves as both
// the Inbox and the Replies of a Runner.
type fakeDeployment struct {
	mu      sync.Mutex
	folder  map[string]string                             // case name -> folder ("INBOX": never handled)
	replies map[string]func(id string) []acceptance.Reply // case name -> replies to the stamped id
	ids     map[string]string                             // stamped Message-ID -> case name
}

func newFake() *fakeDeployment {
	return &fakeDeployment{folder: map[string]string{}, replies: map[string]func(string) []acceptance.Reply{}, ids: map[string]string{}}
}

func (f *fakeDeployment) Deliver(ctx context.Context, raw []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	note := headerOfRaw(raw, acceptance.NoteHeader)
	_, rest, _ := strings.Cut(note, "case=")
	name, _, _ := strings.Cut(rest, ";")
	f.ids[strings.Trim(headerOfRaw(raw, "Message-Id"), "<>")] = name
	return nil
}

func (f *fakeDeployment) Mailbox() string { return "INBOX" }

func (f *fakeDeployment) Locate(ctx context.Context, ids, folders []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		if folder, ok := f.folder[f.ids[id]]; ok {
			out[id] = folder
		}
	}
	return out, nil
}

func (f *fakeDeployment) Find(ctx context.Context, ids []string) (map[string][]acceptance.Reply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]acceptance.Reply{}
	for _, id := range ids {
		if r := f.replies[f.ids[id]]; r != nil {
			out[id] = r(id)
		}
	}
	return out, nil
}

func headerOfRaw(raw []byte, key string) string {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(raw[:max(i, 0)]), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// textReply is a reply without attachment.
func textReply(outcome, to, text string, envelope ...string) func(string) []acceptance.Reply {
	return func(id string) []acceptance.Reply {
		raw := fmt.Sprintf("From: attestation@cpam.example\r\nTo: %s\r\nSubject: Re: x\r\nIn-Reply-To: <%s>\r\n"+
			"X-Attestation-Outcome: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", to, id, outcome, text)
		return []acceptance.Reply{{Raw: []byte(raw), Recipients: envelope}}
	}
}

// casesNamed picks sample cases.
func casesNamed(t *testing.T, names ...string) *acceptance.Cases {
	t.Helper()
	all := acceptance.SampleCases()
	out := &acceptance.Cases{Expected: all.Expected}
	for _, n := range names {
		for _, c := range all.List {
			if c.Name == n {
				out.List = append(out.List, c)
			}
		}
	}
	if len(out.List) != len(names) {
		t.Fatalf("cases %v: found %d", names, len(out.List))
	}
	return out
}

// ticking is a clock that moves a second each time it is read.
func ticking() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
}

func run(t *testing.T, f *fakeDeployment, cases *acceptance.Cases, reg *store.Registry) map[string]acceptance.Result {
	t.Helper()
	r := &acceptance.Runner{Inbox: f, Replies: f, Timeout: 10 * time.Second, Poll: time.Millisecond, Now: ticking(), Registry: reg}
	results, err := r.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]acceptance.Result{}
	for _, res := range results {
		out[res.Case] = res
	}
	return out
}

// wantFailures checks that a result failed for each of the reasons given
// (substrings), and for no other.
func wantFailures(t *testing.T, res acceptance.Result, reasons ...string) {
	t.Helper()
	if len(res.Failures) != len(reasons) {
		t.Errorf("%s: failures %q, want %d: %q", res.Case, res.Failures, len(reasons), reasons)
		return
	}
	for i, want := range reasons {
		if !strings.Contains(res.Failures[i], want) {
			t.Errorf("%s: failure %q does not say %q", res.Case, res.Failures[i], want)
		}
	}
}

func TestRunnerPassesWhatExpectedJSONStates(t *testing.T) {
	f := newFake()
	f.folder["10-expediteur-inconnu.eml"] = "Processed"
	f.replies["10-expediteur-inconnu.eml"] = textReply("sender_unknown", "jean.inconnu@example.net",
		"Votre adresse n'est rattachée à aucun compte. Référence : AD-20261125-XLHVN5DYD6", "jean.inconnu@example.net")
	f.folder["17-beneficiaire-inconnu.eml"] = "Processed"
	f.replies["17-beneficiaire-inconnu.eml"] = textReply("beneficiary_unknown", "Eva <eva.dupont@example.org>", "Le compte couvre : EVA")
	f.folder["13-autre-demande-ij.eml"] = "Manual"

	got := run(t, f, casesNamed(t, "10-expediteur-inconnu.eml", "17-beneficiaire-inconnu.eml", "13-autre-demande-ij.eml"), nil)
	for name, res := range got {
		wantFailures(t, res)
		if name == "13-autre-demande-ij.eml" && res.Got != "no reply" {
			t.Errorf("%s: Got %q, want no reply", name, res.Got)
		}
	}
	var out bytes.Buffer
	if p, n := acceptance.Report(&out, []acceptance.Result{got["10-expediteur-inconnu.eml"], got["13-autre-demande-ij.eml"]}); p != 2 || n != 0 {
		t.Errorf("Report counts %d passed %d failed", p, n)
	}
	if !strings.HasSuffix(out.String(), "\n2 passed, 0 failed\n") || !strings.Contains(out.String(), "13-autre-demande-ij.eml") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestRunnerSaysWhyACaseFails(t *testing.T) {
	f := newFake()
	// Wrong outcome, wrong recipient, and the name it must list missing.
	f.folder["17-beneficiaire-inconnu.eml"] = "Processed"
	f.replies["17-beneficiaire-inconnu.eml"] = textReply("issued", "someone@example.org", "Bonjour", "someone@example.org", "eva.dupont@example.org")
	// A reply where none is expected.
	f.folder["13-autre-demande-ij.eml"] = "Manual"
	f.replies["13-autre-demande-ij.eml"] = textReply("not_attestation", "eva.dupont@example.org", "x")
	// Never handled.
	f.folder["14-reponse-automatique.eml"] = "INBOX"
	// Filed in the wrong folder, and two replies.
	f.folder["05-marc-sans-adresse.eml"] = "Manual"
	f.replies["05-marc-sans-adresse.eml"] = func(id string) []acceptance.Reply {
		one := textReply("address_missing", "marc.leroy@example.com", "x")(id)
		return append(one, one...)
	}
	// No reply at all.
	f.folder["07-sophie-droits-fermes.eml"] = "Processed"

	got := run(t, f, casesNamed(t, "17-beneficiaire-inconnu.eml", "13-autre-demande-ij.eml", "14-reponse-automatique.eml",
		"05-marc-sans-adresse.eml", "07-sophie-droits-fermes.eml"), nil)

	wantFailures(t, got["17-beneficiaire-inconnu.eml"], "outcome issued, want beneficiary_unknown",
		"reply To [someone@example.org], want eva.dupont@example.org",
		"reply sent to [someone@example.org eva.dupont@example.org], want eva.dupont@example.org only",
		"reply does not list EVA")
	wantFailures(t, got["13-autre-demande-ij.eml"], "1 reply went out (not_attestation), want none")
	wantFailures(t, got["14-reponse-automatique.eml"], "original still in INBOX after 10s")
	wantFailures(t, got["05-marc-sans-adresse.eml"], "original filed in Manual, want Processed", "2 replies, want exactly one")
	wantFailures(t, got["07-sophie-droits-fermes.eml"], "no reply within 10s")
	if g := got["05-marc-sans-adresse.eml"].Got; g != "2 replies" {
		t.Errorf("Got %q for two replies", g)
	}

	var out bytes.Buffer
	if p, n := acceptance.Report(&out, []acceptance.Result{got["17-beneficiaire-inconnu.eml"], got["13-autre-demande-ij.eml"]}); p != 0 || n != 2 {
		t.Errorf("Report counts %d passed %d failed", p, n)
	}
	if !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "reply does not list EVA") ||
		!strings.HasSuffix(out.String(), "\n0 passed, 2 failed\n") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestRunnerFindsPersonalDataInAGenericReply(t *testing.T) {
	cases := casesNamed(t, "10-expediteur-inconnu.eml")
	leaky := map[string]string{
		"a number written like a NIR":         "Votre numéro : 1 85 06 69 123 087 38.",
		"a date written like a date of birth": "Né le 31/10/1990 ?",
	}
	for what, text := range leaky {
		f := newFake()
		f.folder["10-expediteur-inconnu.eml"] = "Processed"
		f.replies["10-expediteur-inconnu.eml"] = textReply("sender_unknown", "jean.inconnu@example.net", text)
		wantFailures(t, run(t, f, cases, nil)["10-expediteur-inconnu.eml"], "reply holds personal data: "+what)
	}

	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.folder["10-expediteur-inconnu.eml"] = "Processed"
	f.replies["10-expediteur-inconnu.eml"] = textReply("sender_unknown", "jean.inconnu@example.net", "Bonjour Éva, votre compte")
	res := run(t, f, cases, reg)["10-expediteur-inconnu.eml"]
	wantFailures(t, res, "reply holds personal data: a beneficiary's name of compte")
	if r := strings.Join(res.Failures, " "); strings.Contains(strings.ToUpper(r), "EVA") {
		t.Errorf("the failure shows the personal data it found: %q", r)
	}

	// The generic reply as attestd writes it holds none.
	f.replies["10-expediteur-inconnu.eml"] = textReply("sender_unknown", "jean.inconnu@example.net",
		"Nous avons bien reçu votre demande d'attestation de droits, mais l'adresse électronique depuis laquelle vous "+
			"nous écrivez n'est rattachée à aucun compte ameli. Référence : AD-20261125-XLHVN5DYD6")
	wantFailures(t, run(t, f, cases, reg)["10-expediteur-inconnu.eml"])
	wantFailures(t, run(t, f, cases, nil)["10-expediteur-inconnu.eml"])
}
