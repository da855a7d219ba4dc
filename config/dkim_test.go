package config_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/mailauth/dkimtest"
)

func TestDKIMKeyFiles(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaRecord := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	edPath, edRecord := dkimtest.KeyFile(t)
	for name, tc := range map[string]struct{ path, record string }{
		"RSA, PKCS#1":     {dkimtest.WritePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaRecord},
		"RSA, PKCS#8":     {dkimtest.WritePEM(t, "PRIVATE KEY", pkcs8), rsaRecord},
		"Ed25519, PKCS#8": {edPath, edRecord},
	} {
		t.Run(name, func(t *testing.T) {
			sign, err := config.DKIMConfig{Domain: "cpam.example", Selector: "s1", PrivateKeyFile: tc.path}.Signer()
			if err != nil {
				t.Fatal(err)
			}
			msg := "From: attestation@cpam.example\r\nTo: eva.dupont@example.org\r\nSubject: Re: attestation\r\n" +
				"Message-ID: <x@cpam.example>\r\nX-Attestation-Outcome: issued\r\n\r\nBonjour\r\n"
			raw, err := sign([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			dkimtest.VerifyReply(t, raw, "cpam.example", "s1", tc.record)
		})
	}
	if sign, err := (config.DKIMConfig{}).Signer(); sign != nil || err != nil {
		t.Errorf("an empty dkim section gives a signer (%v, %v)", sign != nil, err)
	}
}

func TestDKIMConfigCheck(t *testing.T) {
	t.Setenv("ATTESTD_TEST_IMAP_PASSWORD", "secret")
	good, _ := dkimtest.KeyFile(t)
	ecdsaLike := dkimtest.WritePEM(t, "EC PRIVATE KEY", []byte{1, 2, 3})
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "imap: {username: attestation@cpam.example, password_env: ATTESTD_TEST_IMAP_PASSWORD}\n"
	trust := "trust: {authserv_ids: [mx.attestation.example]}\n"
	tests := []struct {
		name, yaml, key string
	}{
		{"complete", "dkim: {domain: cpam.example, selector: s1, private_key_file: " + good + "}", ""},
		{"another domain of the organization", "dkim: {domain: mail.cpam.example, selector: s1, private_key_file: " + good + "}", ""},
		{"a public suffix", "dkim: {domain: example, selector: s1, private_key_file: " + good + "}", "dkim.domain"},
		{"no selector", "dkim: {domain: cpam.example, private_key_file: " + good + "}", "dkim.selector"},
		{"no domain", "dkim: {selector: s1, private_key_file: " + good + "}", "dkim.domain"},
		{"no key file", "dkim: {domain: cpam.example, selector: s1}", "dkim.private_key_file"},
		{"missing key file", "dkim: {domain: cpam.example, selector: s1, private_key_file: /nonexistent/dkim.pem}", "dkim.private_key_file"},
		{"not PEM", "dkim: {domain: cpam.example, selector: s1, private_key_file: " + garbage + "}", "dkim.private_key_file"},
		{"unknown PEM block", "dkim: {domain: cpam.example, selector: s1, private_key_file: " + ecdsaLike + "}", "dkim.private_key_file"},
		{"domain not aligned with service.address", "dkim: {domain: evil.test, selector: s1, private_key_file: " + good + "}", "dkim.domain"},
		{"dkim_keys name", "trust: {authserv_ids: [mx.attestation.example], dkim_keys: {gw.messagerie.example: \"v=DKIM1; p=AAAA\"}}", "trust.dkim_keys"},
		{"dkim_keys record", "trust: {authserv_ids: [mx.attestation.example], dkim_keys: {gw._domainkey.messagerie.example: \"v=DKIM1\"}}", "trust.dkim_keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := base + tc.yaml + "\n"
			if !strings.HasPrefix(tc.yaml, "trust:") {
				text += trust
			}
			_, err := config.Parse([]byte(text))
			var ce *config.Error
			switch {
			case tc.key == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.key != "" && !errors.As(err, &ce):
				t.Errorf("error %v, want one naming %s", err, tc.key)
			case tc.key != "" && ce.Key != tc.key:
				t.Errorf("error names %s (%v), want %s", ce.Key, err, tc.key)
			}
		})
	}
}
