package pades

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/pdfsign/verify"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/templates/attestation"
)

// selfSigned is a certificate and key as one PEM file.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CPAM test"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
}

func TestSignAttestation(t *testing.T) {
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	c := &reg.Comptes[0]
	day := rules.MustDate("2026-11-25")
	d := rules.Decide(c, rules.Request{Family: true}, day)
	r, err := attestation.NewPDFRenderer()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	doc, err := r.Render(attestation.AttestationInput{Compte: c, Decision: d, Reference: "AD-TEST", IssuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(selfSigned(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign(doc.Bytes, at, "Attestation de droits")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(signed, doc.Bytes) {
		t.Error("the signature is not an incremental update of the attestation")
	}
	resp, err := verify.Verify(bytes.NewReader(signed), int64(len(signed)))
	if err != nil && resp == nil {
		t.Fatal(err)
	}
	if len(resp.Signers) != 1 || !resp.Signers[0].ValidSignature || resp.Signers[0].Name != "CPAM test" {
		t.Fatalf("verify: %+v (%v)", resp, err)
	}
	if err := api.Validate(bytes.NewReader(signed), model.NewDefaultConfiguration()); err != nil {
		t.Errorf("pdfcpu: %v", err)
	}
	tampered := bytes.Clone(signed)
	tampered[len(doc.Bytes)/2] ^= 1 // a byte of the attestation's streams
	if resp, _ := verify.Verify(bytes.NewReader(tampered), int64(len(tampered))); resp != nil && len(resp.Signers) == 1 && resp.Signers[0].ValidSignature {
		t.Error("a changed PDF still has a valid signature")
	}
}
