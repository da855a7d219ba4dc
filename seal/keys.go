package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cpam/attestd/rules"
)

// Key files are PEM (PKCS #8 private key, PKIX public key) preceded by
// attribute lines, which PEM readers such as openssl skip:
//
//	Issuer: CPAM
//	Key-Id: K7QX
//	Valid-From: 2026-11-25
//	Valid-Until: 2029-11-25
//	-----BEGIN PUBLIC KEY-----
//
// A file of trusted keys is several such blocks one after another (the
// public key files concatenated): key rotation trusts the new key and the
// old one until the old one's Valid-Until.

// TrustedKey is a public key that verifies codes, with its validity: codes
// signed from From to Until verify until Until (a zero Until: no end).
type TrustedKey struct {
	Issuer, KeyID string
	Public        *ecdsa.PublicKey
	From, Until   rules.Date
}

// KeyRing is the trusted keys.
type KeyRing []TrustedKey

// find returns the keys of issuer with id keyID.
func (r KeyRing) find(issuer, keyID string) []TrustedKey {
	var out []TrustedKey
	for _, k := range r {
		if k.Issuer == issuer && k.KeyID == keyID {
			out = append(out, k)
		}
	}
	return out
}

// block is one PEM block with the attribute lines before it.
type block struct {
	*pem.Block
	attrs map[string]string
}

// blocks reads every PEM block of data with its attributes.
func blocks(data []byte) ([]block, error) {
	var out []block
	for {
		i := bytes.Index(data, []byte("-----BEGIN "))
		if i < 0 {
			return out, nil
		}
		attrs := map[string]string{}
		for _, ln := range strings.Split(string(data[:i]), "\n") {
			if k, v, ok := strings.Cut(ln, ":"); ok && !strings.HasPrefix(strings.TrimSpace(ln), "#") {
				attrs[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		b, rest := pem.Decode(data[i:])
		if b == nil {
			return nil, errors.New("a PEM block does not end")
		}
		out = append(out, block{Block: b, attrs: attrs})
		data = rest
	}
}

// ParsePublicKeys reads trusted keys: one or more PEM public keys, each with
// its Issuer, Key-Id and Valid-From lines (Valid-Until optional).
func ParsePublicKeys(data []byte) (KeyRing, error) {
	bs, err := blocks(data)
	if err != nil {
		return nil, err
	}
	var ring KeyRing
	for i, b := range bs {
		if b.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("block %d is a %s, not a PUBLIC KEY", i+1, b.Type)
		}
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		k, ok := pub.(*ecdsa.PublicKey)
		if err != nil || !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("block %d is not an ECDSA P-256 public key", i+1)
		}
		t := TrustedKey{Issuer: b.attrs["issuer"], KeyID: b.attrs["key-id"], Public: k}
		if !isID(t.Issuer) || !isID(t.KeyID) {
			return nil, fmt.Errorf("key %d: Issuer and Key-Id lines of four characters A-Z 0-9 are needed", i+1)
		}
		if t.From, err = rules.ParseDate(b.attrs["valid-from"]); err != nil {
			return nil, fmt.Errorf("key %s: Valid-From: %v", t.KeyID, err)
		}
		if u := b.attrs["valid-until"]; u != "" {
			if t.Until, err = rules.ParseDate(u); err != nil {
				return nil, fmt.Errorf("key %s: Valid-Until: %v", t.KeyID, err)
			}
		}
		ring = append(ring, t)
	}
	if len(ring) == 0 {
		return nil, errors.New("no PEM public key")
	}
	return ring, nil
}

// ParseSigner reads a private key file as GenerateKey writes it. issuer and
// keyID, when not empty, must agree with the file's Issuer and Key-Id lines,
// and stand for them when the file has none.
func ParseSigner(data []byte, issuer, keyID string) (*Signer, error) {
	bs, err := blocks(data)
	if err != nil {
		return nil, err
	}
	if len(bs) != 1 || bs[0].Type != "PRIVATE KEY" {
		return nil, errors.New("want one PEM PRIVATE KEY block (PKCS #8), as attestd keys generate writes")
	}
	key, err := x509.ParsePKCS8PrivateKey(bs[0].Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key: %w", err)
	}
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key is not an ECDSA key")
	}
	for name, v := range map[string]*string{"issuer": &issuer, "key-id": &keyID} {
		switch file := bs[0].attrs[name]; {
		case *v == "":
			*v = file
		case file != "" && file != *v:
			return nil, fmt.Errorf("the key file says %s %s, the configuration %s", name, file, *v)
		}
	}
	return NewSigner(k, issuer, keyID)
}

// KeyIDOf is the default key id of a public key: the first four base32
// characters of the SHA-256 of its PKIX form.
func KeyIDOf(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return b32.EncodeToString(sum[:])[:4], nil
}

// GenerateKey makes a P-256 key pair from random and writes the private key
// file and the public key file, with their attribute lines. An empty keyID
// is KeyIDOf the new key.
func GenerateKey(random io.Reader, issuer, keyID string, from, until rules.Date) (private, public []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, nil, err
	}
	if keyID == "" {
		if keyID, err = KeyIDOf(&k.PublicKey); err != nil {
			return nil, nil, err
		}
	}
	if !isID(issuer) || !isID(keyID) {
		return nil, nil, fmt.Errorf("issuer %q and key id %q must be four characters A-Z or 0-9", issuer, keyID)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	head := "Issuer: " + issuer + "\nKey-Id: " + keyID + "\n"
	private = append([]byte(head), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})...)
	head += "Valid-From: " + from.String() + "\n"
	if !until.IsZero() {
		head += "Valid-Until: " + until.String() + "\n"
	}
	public = append([]byte(head), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})...)
	return private, public, nil
}
