package dkimtest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// WritePEM writes a private key file and returns its path.
func WritePEM(t testing.TB, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// KeyFile writes a new Ed25519 key as PKCS#8 PEM, as the dkim section's
// private_key_file wants it, and returns the file and the DKIM record of
// its public half.
func KeyFile(t testing.TB) (path, record string) {
	t.Helper()
	k := NewKey(t, "cpam.example", "s1")
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return WritePEM(t, "PRIVATE KEY", der), k.Record
}

// VerifyReply checks that raw carries one DKIM signature of domain that
// verifies with record, covering the headers a reader relies on.
func VerifyReply(t testing.TB, raw []byte, domain, selector, record string) {
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
