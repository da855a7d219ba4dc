package daemon_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/mailauth/dkimtest"
	"github.com/cpam/attestd/rules"
)

// The identity and trust promises of SPEC section 2, end to end: messages go
// in over IMAP, replies come out over SMTP.

// trustRun is a daemon over in-process servers. When the test ends it stops
// the daemon and checks what went out and what was logged: personal data
// only to an address on file, the gateway or an agent, and none in the log.
type trustRun struct {
	env *localEnv
	cfg config.Config
	d   *running   // the daemon running now
	all []*running // every daemon started, for the log check
	pd  *personalData
	seq atomic.Int64
}

func newTrustRun(t *testing.T, cfg config.Config, o daemon.Options) *trustRun {
	t.Helper()
	return newTrustRunOn(t, newLocalEnv(t), cfg, o)
}

// newTrustRunOn is newTrustRun on mail servers already set up.
func newTrustRunOn(t *testing.T, env *localEnv, cfg config.Config, o daemon.Options) *trustRun {
	t.Helper()
	r := &trustRun{env: env, cfg: cfg, pd: newPersonalData(t)}
	r.d = start(t, env, cfg, o)
	r.all = append(r.all, r.d)
	t.Cleanup(func() {
		var logs strings.Builder
		for _, d := range r.all {
			d.stop()
			logs.WriteString(d.logs.String())
		}
		checkRecipients(t, r.pd, cfg, env.sent(t))
		checkLogs(t, r.pd, logs.String())
	})
	return r
}

// restart stops the daemon and starts a new one on the same mail servers
// with o (its store, its clock).
func (r *trustRun) restart(t *testing.T, o daemon.Options) {
	t.Helper()
	r.d.stop()
	r.d = start(t, r.env, r.cfg, o)
	r.all = append(r.all, r.d)
}

// request is a message to build.
type request struct {
	from    string
	subject string
	headers []string // "Name: value", above the others
	body    string
}

// raw writes m as a text/plain UTF-8 message with a fresh Message-ID.
func (r *trustRun) raw(m request) (raw []byte, id string) {
	id = fmt.Sprintf("trust-%d-%d@test.example", time.Now().UnixNano(), r.seq.Add(1))
	subject := m.subject
	if subject == "" {
		subject = "attestation de droits"
	}
	var b strings.Builder
	for _, h := range m.headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: attestation@cpam.example\r\nSubject: %s\r\n", m.from, subject)
	fmt.Fprintf(&b, "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%s>\r\n", id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.TrimLeft(m.body, "\n"), "\n", "\r\n"))
	return []byte(b.String()), id
}

// send delivers raw, waits until it is filed and returns its result and the
// replies to it.
func (r *trustRun) send(t *testing.T, raw []byte) (daemon.Result, []sentMail) {
	t.Helper()
	r.env.deliver(t, raw)
	res := r.d.collect(t, 1, 30*time.Second)[0]
	return res, r.repliesTo(t, res.MessageID)
}

func (r *trustRun) repliesTo(t testing.TB, id string) []sentMail {
	var out []sentMail
	for _, m := range r.env.sent(t) {
		if header(t, m.Raw, "In-Reply-To") == "<"+id+">" {
			out = append(out, m)
		}
	}
	return out
}

// inFolder reports whether the message id is in folder.
func (r *trustRun) inFolder(t testing.TB, folder, id string) bool {
	for _, raw := range r.env.folder(t, folder) {
		if msgIDOf(t, raw) == id {
			return true
		}
	}
	return false
}

// arPass is what the trusted receiving server writes for a message it
// verified from domain.
func arPass(domain string) string {
	return "Authentication-Results: mx.attestation.example; dkim=pass header.d=" + domain +
		"; spf=pass smtp.mailfrom=" + domain + "; dmarc=pass header.from=" + domain
}

// expectReply checks that exactly one reply went to addr only (envelope and
// To) with outcome, and returns it.
func expectReply(t *testing.T, res daemon.Result, rs []sentMail, outcome rules.Outcome, addr string) sentMail {
	t.Helper()
	if res.Outcome != outcome {
		t.Errorf("outcome %s, want %s", res.Outcome, outcome)
	}
	if len(rs) != 1 {
		t.Fatalf("%d replies, want one", len(rs))
	}
	m := rs[0]
	if !slices.Equal(m.To, []string{addr}) {
		t.Errorf("envelope recipients %v, want only %s", m.To, addr)
	}
	rp := readReply(t, m)
	if to, err := rp.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != addr {
		t.Errorf("To %v, want only %s", to, addr)
	}
	for _, k := range []string{"Cc", "Bcc", "Reply-To"} {
		if v := rp.header.Get(k); v != "" {
			t.Errorf("%s: %s on a reply", k, v)
		}
	}
	if got := rp.header.Get("X-Attestation-Outcome"); got != string(outcome) {
		t.Errorf("X-Attestation-Outcome %q, want %s", got, outcome)
	}
	return m
}

// expectManual checks a message that gets no reply and waits in Manual.
func (r *trustRun) expectManual(t *testing.T, res daemon.Result, rs []sentMail, outcome rules.Outcome) {
	t.Helper()
	if res.Outcome != outcome {
		t.Errorf("outcome %s, want %s", res.Outcome, outcome)
	}
	if len(rs) != 0 {
		t.Errorf("%d replies went out, want none (to %v)", len(rs), rs[0].To)
	}
	if res.ReplyTo != "" {
		t.Errorf("result says a reply went to %q", res.ReplyTo)
	}
	if !r.inFolder(t, "Manual", res.MessageID) {
		t.Errorf("original not in Manual")
	}
}

// pdfBeneficiaries reads the attestation of a reply back.
func pdfBeneficiaries(t *testing.T, m sentMail) []string {
	t.Helper()
	rp := readReply(t, m)
	if rp.pdf == nil {
		t.Fatal("no PDF attached")
	}
	sum, err := pdftext.ReadAttestation(rp.pdf)
	if err != nil {
		t.Fatal(err)
	}
	got := append([]string(nil), sum.Beneficiaries...)
	sort.Strings(got)
	return got
}

// rsaKeyRecord makes an RSA key and its DKIM TXT record.
func rsaKeyRecord(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
}

// TestGatewaySignedOverNIRHeader: the gateway's own DKIM signature, checked
// by attestd with the key from trust.dkim_keys, with no trusted
// Authentication-Results at all.
func TestGatewaySignedOverNIRHeader(t *testing.T) {
	priv, record := rsaKeyRecord(t)
	key := dkimtest.Key{Domain: "messagerie.ameli.example", Selector: "gw2026", Signer: priv}
	cfg := testConfig(t)
	cfg.Trust.DKIMKeys = map[string]string{"gw2026._domainkey.messagerie.ameli.example": record}
	r := newTrustRun(t, cfg, daemon.Options{})
	gatewayRequest := func() ([]byte, string) {
		raw, id := r.raw(request{
			from:    "Messagerie ameli <messagerie@messagerie.ameli.example>",
			headers: []string{"X-Ameli-NIR: " + nirBenoit},
			body:    "Message de l'assuré :\nBonjour, je souhaite l'attestation de droits de ma fille Léa. Merci\n",
		})
		return key.Sign(t, raw, "From", "To", "Subject", "Date", "Message-ID", "X-Ameli-NIR"), id
	}

	t.Run("signed", func(t *testing.T) {
		raw, _ := gatewayRequest()
		res, rs := r.send(t, raw)
		m := expectReply(t, res, rs, rules.Issued, gatewayAdr)
		if got := header(t, m.Raw, "X-Ameli-NIR"); got != nirBenoit {
			t.Errorf("X-Ameli-NIR %q on the reply, want %s: the gateway cannot route it", got, nirBenoit)
		}
		if got := pdfBeneficiaries(t, m); !slices.Equal(got, []string{"LÉA"}) {
			t.Errorf("attestation for %v, want LÉA", got)
		}
		if res.Channel != identity.ChannelGateway {
			t.Errorf("channel %s", res.Channel)
		}
	})
	t.Run("header altered after signing", func(t *testing.T) {
		raw, _ := gatewayRequest()
		forged := []byte(strings.Replace(string(raw), "X-Ameli-NIR: "+nirBenoit, "X-Ameli-NIR: "+nirEva, 1))
		res, rs := r.send(t, forged)
		r.expectManual(t, res, rs, rules.SenderUnverified)
	})
	t.Run("second header above the signed one", func(t *testing.T) {
		raw, _ := gatewayRequest()
		res, rs := r.send(t, append([]byte("X-Ameli-NIR: "+nirEva+"\r\n"), raw...))
		r.expectManual(t, res, rs, rules.SenderUnverified)
	})
	t.Run("unsigned", func(t *testing.T) {
		raw, _ := r.raw(request{from: gatewayAdr, headers: []string{"X-Ameli-NIR: " + nirBenoit}, body: "attestation de droits svp\n"})
		res, rs := r.send(t, raw)
		r.expectManual(t, res, rs, rules.SenderUnverified)
	})
}

// TestForgedAuthenticationResults: a sender can write an
// Authentication-Results header with the trusted authserv-id himself; it
// never turns the trusted server's failure into a pass.
func TestForgedAuthenticationResults(t *testing.T) {
	r := newTrustRun(t, testConfig(t), daemon.Options{})
	const (
		forged = "Authentication-Results: mx.attestation.example; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
		real   = "Authentication-Results: mx.attestation.example; dkim=fail header.d=example.org; spf=fail smtp.mailfrom=example.org; dmarc=fail header.from=example.org"
	)
	body := "Bonjour,\nEnvoyez-moi mon attestation de droits.\nEva\n"
	for name, headers := range map[string][]string{
		"forged above the trusted one":             {forged, real},
		"forged below the trusted one":             {real, forged},
		"untrusted authserv-id saying pass":        {"Authentication-Results: mx.evil.test; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"},
		"untrusted pass above a trusted fail":      {"Authentication-Results: mx.evil.test; dmarc=pass header.from=example.org", real},
		"no Authentication-Results and no DKIM":    nil,
		"trusted pass for another domain":          {arPass("evil.test")},
		"trusted pass in a header of another name": {"X-Authentication-Results: mx.attestation.example; dmarc=pass header.from=example.org"},
	} {
		t.Run(name, func(t *testing.T) {
			raw, _ := r.raw(request{from: "eva.dupont@example.org", headers: headers, body: body})
			res, rs := r.send(t, raw)
			r.expectManual(t, res, rs, rules.SenderUnverified)
		})
	}
}

// TestLookAlikeAgentDomains: a domain that merely resembles the agents'
// is the direct channel: its NIRs name no one, it gets no personal data.
func TestLookAlikeAgentDomains(t *testing.T) {
	r := newTrustRun(t, testConfig(t), daemon.Options{})
	body := "Bonjour,\nDemande transmise pour l'assurée NIR " + rules.FormatNIR(nirMarie) +
		", avec l'exonération du ticket modérateur.\nL'agent d'accueil\n"
	for _, domain := range []string{"agents.cpam.example.evil.test", "agents-cpam.example", "xagents.cpam.example", "sub.agents.cpam.example"} {
		t.Run(domain, func(t *testing.T) {
			from := "agent.martin@" + domain
			raw, _ := r.raw(request{from: from, subject: "TR: attestation de droits", headers: []string{arPass(domain)}, body: body})
			res, rs := r.send(t, raw)
			m := expectReply(t, res, rs, rules.SenderUnknown, from)
			checkNoPersonalData(t, r.pd, m)
			if res.Channel != identity.ChannelDirect {
				t.Errorf("channel %s, want direct", res.Channel)
			}
		})
	}
	t.Run("unauthenticated", func(t *testing.T) {
		raw, _ := r.raw(request{from: "agent.martin@agents.cpam.example.evil.test", body: body})
		res, rs := r.send(t, raw)
		r.expectManual(t, res, rs, rules.SenderUnverified)
	})
}

// TestAgentNIRs: what an agent's forward gets, by the NIRs it names.
func TestAgentNIRs(t *testing.T) {
	cfg := testConfig(t)
	cfg.Trust.AgentAddresses = []string{"referent.pfs@cpam-partenaire.example"}
	r := newTrustRun(t, cfg, daemon.Options{})
	agentAR := []string{arPass("agents.cpam.example")}
	forward := func(text, subject string) []byte {
		raw, _ := r.raw(request{from: agentAddr, subject: subject, headers: agentAR, body: text +
			"\n\n-------- Message transféré --------\nDe : marie-ange.casanova@example.fr\nObjet : attestation\n\n" +
			"Bonjour, je voudrais mon attestation de droits. Marie-Ange\n"})
		return raw
	}
	bad := wrongKey(nirMarie)

	for name, raw := range map[string][]byte{
		"wrong key in the text":    forward("Demande transmise pour l'assurée NIR "+rules.FormatNIR(bad)+".", "TR: attestation de droits"),
		"wrong key in the subject": forward("Demande transmise, voir ci-dessous.", "TR: attestation de droits NIR "+bad),
	} {
		t.Run(name, func(t *testing.T) {
			res, rs := r.send(t, raw)
			m := expectReply(t, res, rs, rules.NIRInvalid, agentAddr)
			text := decodedText(t, m.Raw)
			for _, echo := range []string{bad, rules.FormatNIR(bad), bad[:13], rules.FormatNIR(bad)[:17]} {
				if strings.Contains(text, echo) {
					t.Errorf("the reply echoes the NIR %q", echo)
				}
			}
			if !strings.Contains(text, "numéro de sécurité sociale") {
				t.Errorf("the reply does not ask for a valid NIR:\n%s", text)
			}
			checkNoPersonalData(t, r.pd, m)
		})
	}
	t.Run("valid NIR not in the registry", func(t *testing.T) {
		res, rs := r.send(t, forward("Pour l'assuré NIR "+rules.FormatNIR(unknownNIR(t))+".", "TR: attestation"))
		checkNoPersonalData(t, r.pd, expectReply(t, res, rs, rules.SenderUnknown, agentAddr))
	})
	t.Run("NIRs of two comptes", func(t *testing.T) {
		res, rs := r.send(t, forward("Pour les assurées NIR "+rules.FormatNIR(nirMarie)+" et "+nirEva+".", "TR: attestation"))
		checkNoPersonalData(t, r.pd, expectReply(t, res, rs, rules.SenderAmbiguous, agentAddr))
	})
	t.Run("NIRs of two children of one compte", func(t *testing.T) {
		raw, _ := r.raw(request{from: agentAddr, subject: "attestation", headers: agentAR,
			body: "Bonjour,\nMerci d'établir l'attestation de droits pour les NIR " + rules.FormatNIR(nirLea) + " et " + nirLucas + ".\n"})
		res, rs := r.send(t, raw)
		m := expectReply(t, res, rs, rules.Issued, agentAddr)
		if got := pdfBeneficiaries(t, m); !slices.Equal(got, []string{"LUCAS", "LÉA"}) {
			t.Errorf("attestation for %v, want LÉA and LUCAS", got)
		}
	})
	t.Run("allow-listed agent address", func(t *testing.T) {
		from := "referent.pfs@cpam-partenaire.example"
		raw, _ := r.raw(request{from: from, headers: []string{arPass("cpam-partenaire.example")},
			body: "Bonjour,\nAttestation de droits pour l'assurée " + rules.FormatNIR(nirEva) + " svp.\n"})
		res, rs := r.send(t, raw)
		m := expectReply(t, res, rs, rules.Issued, from)
		if got := pdfBeneficiaries(t, m); !slices.Equal(got, []string{"EVA"}) {
			t.Errorf("attestation for %v, want EVA", got)
		}
		if res.Channel != identity.ChannelAgent {
			t.Errorf("channel %s", res.Channel)
		}
	})
	t.Run("another address of the allow-listed one's domain", func(t *testing.T) {
		from := "someone@cpam-partenaire.example"
		raw, _ := r.raw(request{from: from, headers: []string{arPass("cpam-partenaire.example")},
			body: "Bonjour,\nAttestation de droits pour l'assurée " + rules.FormatNIR(nirEva) + " svp.\n"})
		res, rs := r.send(t, raw)
		checkNoPersonalData(t, r.pd, expectReply(t, res, rs, rules.SenderUnknown, from))
	})
}

// TestReplyGoesToAddressOnFile: never to a Reply-To, an address in the
// body, or the From as written.
func TestReplyGoesToAddressOnFile(t *testing.T) {
	r := newTrustRun(t, testConfig(t), daemon.Options{})
	t.Run("Reply-To elsewhere", func(t *testing.T) {
		raw, _ := r.raw(request{from: "Eva Dupont <eva.dupont@example.org>",
			headers: []string{arPass("example.org"), "Reply-To: mallory@evil.test", "Sender: mallory@evil.test"},
			body:    "Bonjour,\nEnvoyez mon attestation de droits à mallory@evil.test, c'est ma nouvelle adresse.\nEva\n"})
		res, rs := r.send(t, raw)
		m := expectReply(t, res, rs, rules.Issued, "eva.dupont@example.org")
		if strings.Contains(strings.ToLower(string(m.Raw)), "mallory") {
			t.Error("the reply names the Reply-To address")
		}
	})
	t.Run("From in other case", func(t *testing.T) {
		raw, _ := r.raw(request{from: "EVA.Dupont@Example.org", headers: []string{arPass("Example.org")},
			body: "Bonjour,\nMon attestation de droits s'il vous plaît.\nEva\n"})
		res, rs := r.send(t, raw)
		expectReply(t, res, rs, rules.Issued, "eva.dupont@example.org")
	})
	t.Run("unknown sender with a Reply-To", func(t *testing.T) {
		raw, _ := r.raw(request{from: "jean.inconnu@example.net",
			headers: []string{arPass("example.net"), "Reply-To: eva.dupont@example.org"},
			body:    "Bonjour,\nL'attestation de droits d'Eva Dupont, née le 31/10/1990, svp.\n"})
		res, rs := r.send(t, raw)
		checkNoPersonalData(t, r.pd, expectReply(t, res, rs, rules.SenderUnknown, "jean.inconnu@example.net"))
	})
}
