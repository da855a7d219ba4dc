package config

import (
	"fmt"
	"os"

	"github.com/cpam/attestd/pades"
	"github.com/cpam/attestd/seal"
)

// SigningConfig is the `signing` section: the key that signs the 2D code of
// every attestation (package seal). Empty: attestations carry no code.
type SigningConfig struct {
	// KeyFile is the private key, as `attestd keys generate` writes it.
	KeyFile string `yaml:"key_file"`
	// KeyID and Issuer are written in every code (four characters A-Z 0-9
	// each). Empty: the key file's Key-Id and Issuer lines.
	KeyID  string `yaml:"key_id"`
	Issuer string `yaml:"issuer"`
	// PDFCertificate is a PEM file holding the certificate (then its chain)
	// that signs each PDF as a whole (PAdES), and its PKCS #8 key unless
	// PDFKey names another file. Empty: the PDF itself is not signed, and
	// renders stay deterministic.
	PDFCertificate string `yaml:"pdf_certificate"`
	PDFKey         string `yaml:"pdf_key"`
}

// DocumentSigner reads the PDF certificate and key; nil when
// pdf_certificate is not set.
func (c SigningConfig) DocumentSigner() (*pades.Signer, error) {
	if c.PDFCertificate == "" {
		if c.PDFKey != "" {
			return nil, fmt.Errorf("pdf_key set without pdf_certificate")
		}
		return nil, nil
	}
	cert, err := os.ReadFile(c.PDFCertificate)
	if err != nil {
		return nil, err
	}
	var key []byte
	if c.PDFKey != "" {
		if key, err = os.ReadFile(c.PDFKey); err != nil {
			return nil, err
		}
	}
	s, err := pades.ParseSigner(cert, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.PDFCertificate, err)
	}
	return s, nil
}

// Signer reads the key file; nil when no key_file is set.
func (c SigningConfig) Signer() (*seal.Signer, error) {
	if c.KeyFile == "" {
		if c.KeyID != "" || c.Issuer != "" {
			return nil, fmt.Errorf("key_id or issuer set without key_file")
		}
		return nil, nil
	}
	data, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return nil, err
	}
	s, err := seal.ParseSigner(data, c.Issuer, c.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.KeyFile, err)
	}
	return s, nil
}

// checkSigning validates the signing section by reading its key.
func (c *Config) checkSigning() error {
	if _, err := c.Signing.Signer(); err != nil {
		return &Error{Key: "signing.key_file", Problem: err.Error()}
	}
	if _, err := c.Signing.DocumentSigner(); err != nil {
		return &Error{Key: "signing.pdf_certificate", Problem: err.Error()}
	}
	return nil
}
