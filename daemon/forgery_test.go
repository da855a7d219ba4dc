package daemon_test

import (
	"strings"
	"testing"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/rules"
)

// Issue 16, end to end: the trusted receiving server's header says the
// message fails, in a form a naive reader gives up on, and the sender adds
// a forged pass above or below it. On every channel the message is
// sender_unverified, gets no reply and waits in Manual.

// trustedFailures are the trusted server's headers for a message from
// domain d that fails, each hard to read in its own way.
func trustedFailures(d string) map[string]string {
	const id = "mx.attestation.example"
	return map[string]string{
		"quoted ; in smtp.mailfrom":       "Authentication-Results: " + id + `; spf=pass smtp.mailfrom="a;b"@evil.test; dkim=none; dmarc=fail header.from=` + d,
		"quoted ; in header.i":            "Authentication-Results: " + id + `; dkim=pass header.i="x;y"@evil.test header.d=evil.test; dmarc=fail header.from=` + d,
		"garbage after the id":            "Authentication-Results: " + id + " ]]garbage[[; dkim=pass header.d=" + d + "; dmarc=pass header.from=" + d,
		"comment before the id":           "Authentication-Results: (checked by the MX; see RFC 8601) " + id + "; dmarc=fail header.from=" + d,
		"result the parser does not know": "Authentication-Results: " + id + "; x-frob=maybe; dkim=pass header.d=evil.test; dmarc=bestguesspass header.from=" + d,
		"folded oddly": "Authentication-Results:\r\n\t" + id + "\r\n  ;\r\n spf=pass smtp.mailfrom=\"a;\r\n b\"@evil.test;\r\n" +
			" dkim=pass (good\r\n signature) header.d=evil.test ;\r\n dmarc=fail\r\n\theader.from=" + d,
	}
}

// forgedPass is what the sender writes, with the trusted authserv-id.
func forgedPass(d string) string {
	return "Authentication-Results: mx.attestation.example; dkim=pass header.d=" + d + "; dmarc=pass header.from=" + d
}

func TestTrustedFailureNeverForgedIntoPass(t *testing.T) {
	cfg := testConfig(t)
	cfg.Trust.AgentAddresses = []string{"referent.pfs@cpam-partenaire.example"}
	r := newTrustRun(t, cfg, daemon.Options{})
	const agent = "referent.pfs@cpam-partenaire.example"
	channels := []struct {
		channel identity.Channel
		from    string
		req     request
	}{
		{identity.ChannelDirect, "eva.dupont@example.org", request{
			body: "Bonjour, pouvez-vous m'envoyer mon attestation de droits ? Eva Dupont\n"}},
		{identity.ChannelAgent, agent, request{subject: "TR: attestation de droits NIR " + nirEva,
			body: "Bonjour,\nDemande transmise pour l'assurée ci-dessus.\nL'agent\n"}},
		{identity.ChannelGateway, gatewayAdr, request{headers: []string{"X-Ameli-NIR: " + nirBenoit},
			body: "Message de l'assuré :\nBonjour, je souhaite l'attestation de droits de ma fille Léa. Merci\n"}},
	}
	for _, ch := range channels {
		d := ch.from[strings.LastIndexByte(ch.from, '@')+1:]
		send := func(t *testing.T, headers ...string) (daemon.Result, []sentMail) {
			t.Helper()
			req := ch.req
			req.from, req.headers = ch.from, append(headers, req.headers...)
			raw, _ := r.raw(req)
			res, rs := r.send(t, raw)
			if res.Channel != ch.channel {
				t.Errorf("channel %s, want %s", res.Channel, ch.channel)
			}
			return res, rs
		}
		t.Run(string(ch.channel)+"/genuine pass", func(t *testing.T) {
			// The control: the same request passes with the server's pass.
			res, rs := send(t, arPass(d))
			if m := expectReply(t, res, rs, rules.Issued, ch.from); len(pdfBeneficiaries(t, m)) == 0 {
				t.Error("the control's attestation names no one")
			}
		})
		for name, genuine := range trustedFailures(d) {
			for order, headers := range map[string][]string{
				"forged pass above": {forgedPass(d), genuine},
				"forged pass below": {genuine, forgedPass(d)},
			} {
				t.Run(string(ch.channel)+"/"+name+"/"+order, func(t *testing.T) {
					res, rs := send(t, headers...)
					r.expectManual(t, res, rs, rules.SenderUnverified)
				})
			}
		}
	}
}

// TestIssue16Example is the message of issue 16 as an attacker sent it.
func TestIssue16Example(t *testing.T) {
	r := newTrustRun(t, testConfig(t), daemon.Options{})
	raw := strings.ReplaceAll(strings.TrimPrefix(`
Authentication-Results: mx.attestation.example; spf=pass smtp.mailfrom="a;b"@evil.test; dkim=none; dmarc=fail header.from=example.org
From: eva.dupont@example.org
To: attestation@cpam.example
Subject: Attestation de droits
Message-ID: <c05@evil.test>
Authentication-Results: mx.attestation.example; dkim=pass header.d=example.org; dmarc=pass header.from=example.org

Bonjour, pouvez-vous m'envoyer mon attestation de droits ? Eva Dupont
`, "\n"), "\n", "\r\n")
	res, rs := r.send(t, []byte(raw))
	r.expectManual(t, res, rs, rules.SenderUnverified)
}

// TestTrustPathFailsClosed: what the trust path cannot read, beside a
// genuine pass, fails.
func TestTrustPathFailsClosed(t *testing.T) {
	r := newTrustRun(t, testConfig(t), daemon.Options{})
	body := "Bonjour,\nEnvoyez-moi mon attestation de droits.\nEva\n"
	for name, req := range map[string]request{
		"From that does not parse":           {from: "Eva Dupont <eva.dupont@example.org", headers: []string{arPass("example.org")}},
		"a second From":                      {from: "eva.dupont@example.org", headers: []string{arPass("example.org"), "From: mallory@evil.test"}},
		"trusted id in an unreadable header": {from: "eva.dupont@example.org", headers: []string{"Authentication-Results: (mx.attestation.example; dmarc=fail", arPass("example.org")}},
	} {
		t.Run(name, func(t *testing.T) {
			req.body = body
			raw, _ := r.raw(req)
			res, rs := r.send(t, raw)
			r.expectManual(t, res, rs, rules.SenderUnverified)
		})
	}
	t.Run("gateway NIR header that does not read as a NIR", func(t *testing.T) {
		raw, _ := r.raw(request{from: gatewayAdr, headers: []string{arPass("messagerie.ameli.example"), "X-Ameli-NIR: =?utf-8?q?" + nirBenoit + "?="},
			body: "Message de l'assuré :\nBonjour, mon attestation de droits. Merci\n"})
		res, rs := r.send(t, raw)
		// The generic reply goes back to the gateway with its routing
		// header as it came; no attestation.
		if rp := readReply(t, expectReply(t, res, rs, rules.NIRInvalid, gatewayAdr)); rp.pdf != nil {
			t.Error("an attestation for an unreadable NIR header")
		}
	})
	t.Run("a header line that does not parse", func(t *testing.T) {
		raw, _ := r.raw(request{from: "eva.dupont@example.org", headers: []string{arPass("example.org"), "Garbage line without a colon"}, body: body})
		res, rs := r.send(t, raw)
		if res.Outcome != rules.Rejected || len(rs) != 0 {
			t.Errorf("outcome %s with %d replies, want rejected without any", res.Outcome, len(rs))
		}
	})
}
