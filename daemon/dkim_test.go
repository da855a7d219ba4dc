package daemon_test

import (
	"bytes"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/mailauth/dkimtest"
	"github.com/cpam/attestd/rules"
)

// TestRepliesDKIMSigned: with a dkim key configured, every reply — with a
// PDF or generic, to a person, an agent or the gateway — verifies.
func TestRepliesDKIMSigned(t *testing.T) {
	path, record := dkimtest.KeyFile(t)
	cfg := testConfig(t)
	cfg.DKIM = config.DKIMConfig{Domain: "cpam.example", Selector: "att2026", PrivateKeyFile: path}
	r := newTrustRun(t, cfg, daemon.Options{})
	for _, tc := range []struct {
		req     request
		outcome rules.Outcome
		to      string
	}{
		{request{from: "eva.dupont@example.org", headers: []string{arPass("example.org")}, body: "Mon attestation de droits svp.\nEva\n"},
			rules.Issued, "eva.dupont@example.org"},
		{request{from: "jean.inconnu@example.net", headers: []string{arPass("example.net")}, body: "Mon attestation de droits svp.\n"},
			rules.SenderUnknown, "jean.inconnu@example.net"},
		{request{from: agentAddr, headers: []string{arPass("agents.cpam.example")}, body: "Attestation de droits, NIR " + wrongKey(nirEva) + ".\n"},
			rules.NIRInvalid, agentAddr},
		{request{from: gatewayAdr, headers: []string{arPass("messagerie.ameli.example"), "X-Ameli-NIR: " + nirBenoit},
			body: "Bonjour, mon attestation de droits.\n"}, rules.Issued, gatewayAdr},
	} {
		t.Run(string(tc.outcome)+" to "+tc.to, func(t *testing.T) {
			raw, _ := r.raw(tc.req)
			res, rs := r.send(t, raw)
			m := expectReply(t, res, rs, tc.outcome, tc.to)
			dkimtest.VerifyReply(t, m.Raw, "cpam.example", "att2026", record)
			forged := bytes.Replace(m.Raw, []byte("X-Attestation-Outcome: "+string(tc.outcome)), []byte("X-Attestation-Outcome: failed"), 1)
			lookup := func(string) ([]string, error) { return []string{record}, nil }
			vs, err := dkim.VerifyWithOptions(bytes.NewReader(forged), &dkim.VerifyOptions{LookupTXT: lookup})
			if err == nil && len(vs) == 1 && vs[0].Err == nil {
				t.Error("a reply whose outcome header was changed still verifies")
			}
		})
	}
}
