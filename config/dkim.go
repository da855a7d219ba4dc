package config

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"

	"github.com/cpam/attestd/mailauth"
	"github.com/cpam/attestd/outbox"
)

// DKIMConfig is the `dkim` section: the key replies are signed with. All
// empty: replies go unsigned.
type DKIMConfig struct {
	// Domain is the signing domain (d=); it must share its organizational
	// domain with service.address (DMARC's relaxed alignment, see
	// mailauth.Aligned), or receivers' DMARC ignores the signature.
	Domain string `yaml:"domain"`
	// Selector names the key in DNS: selector._domainkey.domain.
	Selector string `yaml:"selector"`
	// PrivateKeyFile is a PEM file: PKCS#8 (RSA or Ed25519) or PKCS#1 (RSA).
	PrivateKeyFile string `yaml:"private_key_file"`
}

// Enabled reports whether any dkim key is set.
func (c DKIMConfig) Enabled() bool {
	return c.Domain != "" || c.Selector != "" || c.PrivateKeyFile != ""
}

// Signer reads the key and returns the reply signer; nil when the section is
// empty.
func (c DKIMConfig) Signer() (outbox.Signer, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if c.Domain == "" || c.Selector == "" || c.PrivateKeyFile == "" {
		return nil, errors.New("domain, selector and private_key_file are all needed to sign replies")
	}
	key, err := readDKIMKey(c.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	return outbox.NewDKIMSigner(c.Domain, c.Selector, key)
}

// readDKIMKey reads an RSA or Ed25519 private key from a PEM file.
func readDKIMKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block: write the key as PEM (openssl genpkey -algorithm ed25519)", path)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: PEM block %q; want PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: unreadable private key: %w", path, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey: // crypto/x509 refuses those under 1024 bits
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%s: a %T key; DKIM signs with RSA or Ed25519", path, key)
}

// checkDKIM validates trust.dkim_keys and the dkim section.
func (c *Config) checkDKIM() error {
	for name, rec := range c.Trust.DKIMKeys {
		if !strings.Contains(name, "._domainkey.") {
			return bad("trust.dkim_keys", "%q is not selector._domainkey.domain", name)
		}
		if !strings.Contains(rec, "p=") {
			return bad("trust.dkim_keys", "the record of %q has no p= tag (the public key)", name)
		}
	}
	d := c.DKIM
	if !d.Enabled() {
		return nil
	}
	switch {
	case d.Domain == "":
		return bad("dkim.domain", "empty while dkim.selector or dkim.private_key_file is set")
	case d.Selector == "":
		return bad("dkim.selector", "empty while dkim.domain or dkim.private_key_file is set")
	case d.PrivateKeyFile == "":
		return bad("dkim.private_key_file", "empty while dkim.domain or dkim.selector is set")
	}
	from := c.Service.Address
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	if from = from[strings.LastIndexByte(from, '@')+1:]; !mailauth.Aligned(d.Domain, from) {
		return bad("dkim.domain", "%q is not aligned with %q, the domain of service.address: receivers' DMARC would ignore the signature", d.Domain, from)
	}
	if _, err := d.Signer(); err != nil {
		return bad("dkim.private_key_file", "%v", err)
	}
	return nil
}
