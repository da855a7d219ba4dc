// Package pades signs a PDF as a whole (PAdES, a detached CMS signature in
// an incremental update) with github.com/digitorus/pdfsign, so that a PDF
// reader shows who issued the attestation and that it was not changed. It
// does no I/O: the caller reads the certificate and key files.
package pades

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
)

// Signer signs PDFs with one certificate and its private key.
type Signer struct {
	cert  *x509.Certificate
	chain []*x509.Certificate
	key   crypto.Signer
}

// ParseSigner reads PEM data holding the certificate (first), its chain and
// its PKCS #8 private key; keyPEM, when not nil, holds the key instead.
func ParseSigner(certPEM, keyPEM []byte) (*Signer, error) {
	s := &Signer{}
	for _, data := range [][]byte{certPEM, keyPEM} {
		for {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			switch b.Type {
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("certificate: %w", err)
				}
				if s.cert == nil {
					s.cert = c
				} else {
					s.chain = append(s.chain, c)
				}
			case "PRIVATE KEY":
				k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("private key: %w", err)
				}
				cs, ok := k.(crypto.Signer)
				if !ok {
					return nil, errors.New("the private key cannot sign")
				}
				s.key = cs
			}
		}
	}
	if s.cert == nil || s.key == nil {
		return nil, errors.New("want a PEM CERTIFICATE and its PKCS #8 PRIVATE KEY")
	}
	return s, nil
}

// Sign returns doc signed at the given time, for the given reason.
func (s *Signer) Sign(doc []byte, at time.Time, reason string) ([]byte, error) {
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("pades: reading the PDF: %w", err)
	}
	var out bytes.Buffer
	data := sign.SignData{
		Signature: sign.SignDataSignature{
			CertType:   sign.CertificationSignature,
			DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
			Info:       sign.SignDataSignatureInfo{Name: s.cert.Subject.CommonName, Reason: reason, Date: at},
		},
		Signer:          s.key,
		DigestAlgorithm: crypto.SHA256,
		Certificate:     s.cert,
	}
	if len(s.chain) > 0 {
		data.CertificateChains = [][]*x509.Certificate{append([]*x509.Certificate{s.cert}, s.chain...)}
	}
	if err := sign.Sign(bytes.NewReader(doc), &out, rdr, int64(len(doc)), data); err != nil {
		return nil, fmt.Errorf("pades: signing: %w", err)
	}
	return out.Bytes(), nil
}
