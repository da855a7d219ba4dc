package daemon_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/rules"
)

// writePEM writes a private key file and returns its path.
func writePEM(t *testing.T, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ed25519KeyFile writes an Ed25519 key as PKCS#8 and returns the file and
// the DKIM record of its public half.
func ed25519KeyFile(t *testing.T) (path, record string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, "PRIVATE KEY", der), "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
}

// verifyReply checks that raw carries one DKIM signature of domain that
// verifies with record, covering the headers a reader relies on.
func verifyReply(t *testing.T, raw []byte, domain, selector, record string) {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if name != selector+"._domainkey."+domain {
				return nil, errors.New("no key at " + name)
			}
			return []string{record}, nil
		},
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(vs) != 1 {
		t.Fatalf("%d DKIM signatures, want 1", len(vs))
	}
	v := vs[0]
	if v.Err != nil {
		t.Errorf("the signature does not verify: %v", v.Err)
	}
	if v.Domain != domain {
		t.Errorf("signed for %q, want %q", v.Domain, domain)
	}
	for _, h := range []string{"from", "to", "subject", "message-id", "x-attestation-outcome"} {
		if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
			t.Errorf("the signature does not cover %s (h=%v)", h, v.HeaderKeys)
		}
	}
}

// TestRepliesDKIMSigned: with a dkim key configured, every reply — with a
// PDF or generic, to a person, an agent or the gateway — verifies.
func TestRepliesDKIMSigned(t *testing.T) {
	path, record := ed25519KeyFile(t)
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
			verifyReply(t, m.Raw, "cpam.example", "att2026", record)
			forged := bytes.Replace(m.Raw, []byte("X-Attestation-Outcome: "+string(tc.outcome)), []byte("X-Attestation-Outcome: failed"), 1)
			lookup := func(string) ([]string, error) { return []string{record}, nil }
			vs, err := dkim.VerifyWithOptions(bytes.NewReader(forged), &dkim.VerifyOptions{LookupTXT: lookup})
			if err == nil && len(vs) == 1 && vs[0].Err == nil {
				t.Error("a reply whose outcome header was changed still verifies")
			}
		})
	}
}
