package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/emersion/go-message"
	"github.com/emersion/go-smtp"
	"golang.org/x/text/unicode/norm"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// The privacy checks: what of the registry's personal data a text holds.

// secret is one piece of personal data of the registry.
type secret struct {
	compte string // the compte it belongs to
	what   string // for the failure message: "family name", "NIR"...
	words  []string
	exact  string // matched as written, spaces collapsed, without case
}

// personalData finds the registry's personal data in texts.
type personalData struct {
	secrets []secret
}

func newPersonalData(t testing.TB) *personalData {
	t.Helper()
	p := &personalData{}
	months := []string{"", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for i := range reg.Comptes {
		c := &reg.Comptes[i]
		add := func(what string, words []string, exact string) {
			p.secrets = append(p.secrets, secret{compte: c.ID, what: what, words: words, exact: exact})
		}
		add("e-mail on file", nil, c.Email)
		if a := c.Adresse; a != nil {
			for _, l := range a.Lignes {
				add("address line", words(l), "")
			}
			add("postal code and commune", words(a.CodePostal+" "+a.Commune), "")
		}
		for _, b := range c.Beneficiaries {
			add("family name", words(b.NomFamille), "")
			if b.NomUsage != "" {
				add("usage name", words(b.NomUsage), "")
			}
			add("first name", words(b.Prenom), "")
			if b.NIR != "" {
				add("NIR", nil, b.NIR)
				add("NIR, grouped", nil, rules.FormatNIR(b.NIR))
				add("NIR without key", nil, b.NIR[:13])
				add("NIR without key, grouped", nil, rules.FormatNIR(b.NIR)[:17])
			}
			d := b.DateNaissance
			add("date of birth", nil, d.String())
			add("date of birth", nil, d.French())
			add("date of birth", nil, d.Compact())
			add("date of birth", words(fmt.Sprintf("%d %s %d", d.Day, months[d.Month], d.Year)), "")
		}
	}
	return p
}

// words folds s (no accents, capitals) and splits it into words.
func words(s string) []string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// hit is personal data found in a text.
type hit struct{ compte, what, value string }

// find returns the personal data text holds. The addresses in except (the
// recipient's own) are taken out first: writing to someone his own
// address discloses nothing.
func (p *personalData) find(text string, except ...string) []hit {
	for _, a := range except {
		if a != "" {
			text = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(a)).ReplaceAllString(text, " ")
		}
	}
	flat := strings.ToLower(strings.Join(strings.Fields(text), " "))
	ws := " " + strings.Join(words(text), " ") + " "
	var out []hit
	for _, s := range p.secrets {
		switch {
		case s.exact != "" && strings.Contains(flat, strings.ToLower(s.exact)):
			out = append(out, hit{s.compte, s.what, s.exact})
		case len(s.words) > 0 && strings.Contains(ws, " "+strings.Join(s.words, " ")+" "):
			out = append(out, hit{s.compte, s.what, strings.Join(s.words, " ")})
		}
	}
	return out
}

// decodedText is everything a reader of the message can see: every header
// field decoded (RFC 2047), every part decoded (transfer encoding), the
// text of PDF attachments.
func decodedText(t testing.TB, raw []byte) string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("reply does not parse: %v", err)
	}
	var b strings.Builder
	err = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		dec := new(mime.WordDecoder)
		for f := part.Header.Fields(); f.Next(); {
			v, derr := dec.DecodeHeader(f.Value())
			if derr != nil {
				v = f.Value()
			}
			b.WriteString(f.Key() + ": " + v + "\n")
		}
		if part.MultipartReader() != nil {
			return nil
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			return err
		}
		if ct, _, _ := part.Header.ContentType(); ct == "application/pdf" {
			text, err := pdftext.ExtractText(body)
			if err != nil {
				return fmt.Errorf("PDF attachment: %w", err)
			}
			body = []byte(text)
		}
		b.Write(body)
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	return b.String()
}

// checkNoPersonalData fails when the reply holds personal data of anyone
// in the registry, or an attachment.
func checkNoPersonalData(t testing.TB, p *personalData, m sentMail) {
	t.Helper()
	text := decodedText(t, m.Raw)
	if hits := p.find(text, m.To...); len(hits) > 0 {
		t.Errorf("a reply that must carry no personal data holds %v:\n%s", hits, text)
	}
	if strings.Contains(strings.ToLower(text), "application/pdf") {
		t.Error("a reply that must carry no personal data has a PDF")
	}
}

// checkRecipients checks the reply-address invariant over replies: personal
// data of a compte goes only to its address on file, the gateway or an
// allow-listed agent of cfg. A value several comptes share (a postal code,
// a family name) may go to the address on file of any of them.
func checkRecipients(t testing.TB, p *personalData, cfg config.Config, replies []sentMail) {
	t.Helper()
	trusted := func(to string) bool {
		return (cfg.Trust.Gateway.Domain != "" && strings.HasSuffix(to, "@"+strings.ToLower(cfg.Trust.Gateway.Domain))) ||
			slices.ContainsFunc(cfg.Trust.AgentDomains, func(d string) bool { return strings.HasSuffix(to, "@"+strings.ToLower(d)) }) ||
			slices.ContainsFunc(cfg.Trust.AgentAddresses, func(a string) bool { return strings.EqualFold(a, to) })
	}
	for _, m := range replies {
		owners := map[string][]string{} // value → comptes it belongs to
		var order []hit
		for _, h := range p.find(decodedText(t, m.Raw), m.To...) {
			if _, ok := owners[h.value]; !ok {
				order = append(order, h)
			}
			owners[h.value] = append(owners[h.value], h.compte)
		}
		for _, to := range m.To {
			to = strings.ToLower(to)
			if trusted(to) {
				continue
			}
			for _, h := range order {
				if !slices.ContainsFunc(owners[h.value], func(c string) bool { return p.onFile(to, c) }) {
					t.Errorf("%s of %v (%q) went to %s, which is neither its address on file, the gateway nor an agent",
						h.what, owners[h.value], h.value, to)
				}
			}
		}
	}
}

// onFile reports whether addr is the address on file of compte (several
// comptes may share one).
func (p *personalData) onFile(addr, compte string) bool {
	return slices.ContainsFunc(p.secrets, func(s secret) bool {
		return s.compte == compte && s.what == "e-mail on file" && strings.EqualFold(s.exact, addr)
	})
}

// checkLogs fails when the log holds personal data of the registry in
// clear: a name, a NIR, a date of birth, a postal address, an e-mail
// address on file.
func checkLogs(t testing.TB, p *personalData, logs string) {
	t.Helper()
	if logs == "" {
		t.Fatal("nothing was logged: the log check would prove nothing")
	}
	if hits := p.find(logs); len(hits) > 0 {
		t.Errorf("the log holds personal data %v:\n%s", hits, logs)
	}
}

// TestPersonalDataFinder makes sure the checks above can fail.
func TestPersonalDataFinder(t *testing.T) {
	p := newPersonalData(t)
	for text, want := range map[string]string{
		"Bonjour Léa,":                          "first name",
		"MOREAU":                                "family name",
		"pour Mme Da Silva":                     "family name",
		"NIR 2 90 10 75 111 042 50":             "NIR, grouped",
		"nir=290107511104250":                   "NIR",
		"née le 31/10/1990":                     "date of birth",
		"born 1990-10-31":                       "date of birth",
		"née le 31 octobre 1990":                "date of birth",
		"4 PLACE BELLECOUR":                     "address line",
		"75011 Paris":                           "postal code and commune",
		"Cc: Eva.Dupont@Example.org":            "e-mail on file",
		"2 15 03 69 123 245":                    "NIR without key, grouped",
		"Marie-Ange, relevez l'évaluation svp.": "first name",
	} {
		hits := p.find(text)
		if !slices.ContainsFunc(hits, func(h hit) bool { return h.what == want }) {
			t.Errorf("%q: found %v, want a %s", text, hits, want)
		}
	}
	for _, text := range []string{
		"Nous avons bien reçu votre demande : relevant, évaluation, une réponse nette.",
		"CPAM de Paris, 75948 PARIS CEDEX 19",
		"Référence : AD-20261125-ABCDEFGHIJ",
	} {
		if hits := p.find(text); len(hits) > 0 {
			t.Errorf("%q: found %v, want nothing", text, hits)
		}
	}
	if hits := p.find("To: eva.dupont@example.org", "eva.dupont@example.org"); len(hits) > 0 {
		t.Errorf("the recipient's own address counted: %v", hits)
	}
}

// TestSamplesPrivacy runs every sample end to end and checks the replies
// that must carry no personal data, the reply-address invariant over all
// replies, and everything the daemon logged.
func TestSamplesPrivacy(t *testing.T) {
	env := newLocalEnv(t)
	d := runSamples(t, env)
	d.stop()
	p := newPersonalData(t)
	exp := samples.ExpectedCases()
	byID := map[string]string{}
	for _, r := range samples.Requests() {
		byID["<"+msgIDOf(t, r.Raw)+">"] = r.Name
	}
	checked := 0
	for _, m := range env.sent(t) {
		name := byID[header(t, m.Raw, "In-Reply-To")]
		if c := exp.Cases[name]; c.NoPersonalData || isGeneric(c.Outcome) {
			t.Run(name, func(t *testing.T) { checkNoPersonalData(t, p, m) })
			checked++
		}
	}
	if checked < 2 {
		t.Errorf("only %d replies without personal data checked; the samples have more", checked)
	}
	checkRecipients(t, p, testConfig(t), env.sent(t))
	checkLogs(t, p, d.logs.String())
}

// isGeneric reports whether replies of outcome must carry no personal data
// (SPEC section 5).
func isGeneric(outcome string) bool {
	switch rules.Outcome(outcome) {
	case rules.SenderUnknown, rules.SenderAmbiguous, rules.NIRInvalid, rules.Failed:
		return true
	}
	return false
}

// flakyRegistry is the store with a registry that fails while down is set,
// with an error text that echoes the query's arguments, as some drivers'
// do. (Names and dates of birth cannot be recognised in free text: code
// must never write them into an error; addresses and NIRs are masked.)
type flakyRegistry struct {
	*store.DB
	down atomic.Bool
}

func (f *flakyRegistry) ComptesByEmail(ctx context.Context, email string) ([]*rules.Compte, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("query comptes where email_lower = '%s': database is locked", email)
	}
	return f.DB.ComptesByEmail(ctx, email)
}

func (f *flakyRegistry) CompteByNIR(ctx context.Context, nir string) (*rules.Compte, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("query comptes where nir = '%s': database is locked", nir)
	}
	return f.DB.CompteByNIR(ctx, nir)
}

// TestFailuresLogNoPersonalData drives the daemon through the failures whose
// error texts hold addresses and NIRs — a registry that fails, a relay that
// names the recipient when it defers and when it refuses — and checks the
// log and the "failed" reply.
func TestFailuresLogNoPersonalData(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxAttempts = 1
	cfg.IMAP.PollInterval = config.Duration(100 * time.Millisecond)
	reg := &flakyRegistry{DB: sampledb.SQLite(t)}
	r := newTrustRun(t, cfg, daemon.Options{Store: reg})
	eva := request{from: "eva.dupont@example.org", headers: []string{arPass("example.org")},
		body: "Bonjour,\nMon attestation de droits, s'il vous plaît.\nEva\n"}

	t.Run("registry down", func(t *testing.T) {
		reg.down.Store(true)
		defer reg.down.Store(false)
		raw, _ := r.raw(eva)
		res, rs := r.send(t, raw)
		m := expectReply(t, res, rs, rules.Failed, "eva.dupont@example.org")
		checkNoPersonalData(t, r.pd, m)
		if !r.inFolder(t, "Manual", res.MessageID) {
			t.Error("a failed message is not in Manual")
		}
		raw, _ = r.raw(request{from: agentAddr, headers: []string{arPass("agents.cpam.example")},
			body: "Attestation de droits pour l'assurée " + rules.FormatNIR(nirEva) + ".\n"})
		res, rs = r.send(t, raw)
		checkNoPersonalData(t, r.pd, expectReply(t, res, rs, rules.Failed, agentAddr))
	})
	t.Run("relay defers naming the recipient", func(t *testing.T) {
		var calls atomic.Int32
		r.env.smtp.SetFault(func(_ string, to []string) error {
			if calls.Add(1) > 1 {
				return nil
			}
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "<" + to[0] + ">: mailbox busy"}
		})
		defer r.env.smtp.SetFault(nil)
		raw, _ := r.raw(eva)
		res, rs := r.send(t, raw)
		expectReply(t, res, rs, rules.Issued, "eva.dupont@example.org")
	})
	t.Run("relay refuses naming the recipient", func(t *testing.T) {
		r.env.smtp.SetFault(func(_ string, to []string) error {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to[0] + ">: Recipient address rejected"}
		})
		defer r.env.smtp.SetFault(nil)
		raw, _ := r.raw(eva)
		res, rs := r.send(t, raw)
		if res.Outcome != rules.Issued || len(rs) != 0 {
			t.Errorf("outcome %s with %d replies; want issued, refused by the relay", res.Outcome, len(rs))
		}
	})
	logs := r.d.logs.String()
	for _, want := range []string{"email_lower", "where nir", "mailbox busy", "Recipient address rejected"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q: the failure was not exercised", want)
		}
	}
	// checkLogs runs when the test ends, over everything logged.
}
