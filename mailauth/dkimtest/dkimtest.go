// Package dkimtest makes DKIM keys, signs messages with them and serves
// their records, writes them as key files and verifies signed replies, for
// the tests of mailauth, config and the daemon.
package dkimtest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// Key is a DKIM key and the TXT record that publishes it.
type Key struct {
	Domain, Selector string
	Signer           crypto.Signer
	Record           string
}

// NewKey makes an Ed25519 key for selector._domainkey.domain.
func NewKey(t testing.TB, domain, selector string) Key {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Domain: domain, Selector: selector, Signer: priv,
		Record: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

// Sign DKIM-signs raw over headers with k (relaxed canonicalization).
func (k Key) Sign(t testing.TB, raw []byte, headers ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: k.Domain, Selector: k.Selector, Signer: k.Signer, HeaderKeys: headers,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Lookup serves the keys' records and fails for any other name, so a test
// never reaches DNS.
func Lookup(keys ...Key) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		for _, k := range keys {
			if strings.EqualFold(name, k.Selector+"._domainkey."+k.Domain) {
				return []string{k.Record}, nil
			}
		}
		return nil, fmt.Errorf("no DKIM key at %s", name)
	}
}
