package mailauth_test

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

	"github.com/cpam/attestd/mailauth"
)

// testKey is a DKIM key and the TXT record that publishes it.
type testKey struct {
	domain, selector string
	priv             crypto.Signer
	record           string
}

func newTestKey(t testing.TB, domain, selector string) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{domain: domain, selector: selector, priv: priv,
		record: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

// lookup serves the keys' records and fails for any other name, so a test
// never reaches DNS.
func lookup(keys ...testKey) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		for _, k := range keys {
			if strings.EqualFold(name, k.selector+"._domainkey."+k.domain) {
				return []string{k.record}, nil
			}
		}
		return nil, fmt.Errorf("no DKIM key at %s", name)
	}
}

// sign DKIM-signs raw over headers with k.
func (k testKey) sign(t testing.TB, raw []byte, headers ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: k.domain, Selector: k.selector, Signer: k.priv, HeaderKeys: headers,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// crlf turns a message written with \n into one with CRLF line ends.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n"))
}

const gatewayMessage = `
From: Messagerie ameli <messagerie@messagerie.ameli.example>
To: attestation@cpam.example
Subject: Demande : attestation de droits
Date: Wed, 25 Nov 2026 09:52:00 +0100
Message-ID: <unit-gw@messagerie.ameli.example>
X-Ameli-NIR: 185066912308738
Content-Type: text/plain; charset=utf-8

Bonjour, je souhaite l'attestation de droits de ma fille Léa. Merci
`

func TestAuthenticatedByTrustedResults(t *testing.T) {
	a := &mailauth.Authenticator{TrustedIDs: []string{"mx.attestation.example"}, LookupTXT: lookup()}
	raw := crlf(gatewayMessage)
	const (
		pass      = "mx.attestation.example; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
		fail      = "mx.attestation.example; dkim=fail header.d=example.org; dmarc=fail header.from=example.org"
		forged    = "mx.attestation.example; dmarc=pass header.from=example.org"
		untrusted = "mx.evil.test; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
	)
	tests := []struct {
		name    string
		ars     []string
		from    string
		want    bool
		comment string
	}{
		{"trusted pass", []string{pass}, "example.org", true, ""},
		{"trusted id in other case", []string{strings.Replace(pass, "mx.attestation.example", "MX.Attestation.Example", 1)}, "example.org", true, ""},
		{"aligned dkim alone", []string{"mx.attestation.example; dkim=pass header.d=example.org"}, "example.org", true, ""},
		{"dkim of a parent domain", []string{"mx.attestation.example; dkim=pass header.d=example.org"}, "mail.example.org", true, ""},
		{"dkim of another domain", []string{"mx.attestation.example; dkim=pass header.d=evil.test"}, "example.org", false, "not aligned"},
		{"dmarc of another domain", []string{"mx.attestation.example; dmarc=pass header.from=evil.test"}, "example.org", false, "not aligned"},
		{"spf alone", []string{"mx.attestation.example; spf=pass smtp.mailfrom=example.org"}, "example.org", false, "SPF is not enough"},
		{"trusted fail", []string{fail}, "example.org", false, ""},
		{"forged pass above the trusted fail", []string{forged, fail}, "example.org", false, ""},
		{"forged pass below the trusted fail", []string{fail, forged}, "example.org", false, ""},
		{"untrusted id saying pass", []string{untrusted}, "example.org", false, "only trusted servers are believed"},
		{"untrusted pass above a trusted fail", []string{untrusted, fail}, "example.org", false, ""},
		{"unparsable", []string{"garbage without a semicolon ==="}, "example.org", false, ""},
		{"none", nil, "example.org", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.Authenticated(raw, tc.ars, tc.from, nil); got != tc.want {
				t.Errorf("Authenticated = %v, want %v %s", got, tc.want, tc.comment)
			}
		})
	}
}

func TestAuthenticatedByOwnDKIM(t *testing.T) {
	gw := newTestKey(t, "messagerie.ameli.example", "gw2026")
	other := newTestKey(t, "evil.test", "s1")
	a := &mailauth.Authenticator{TrustedIDs: []string{"mx.attestation.example"}, LookupTXT: lookup(gw, other)}
	raw := crlf(gatewayMessage)
	must := []string{"X-Ameli-NIR"}
	signed := gw.sign(t, raw, "From", "Subject", "Date", "Message-ID", "X-Ameli-NIR")
	const domain = "messagerie.ameli.example"

	tests := []struct {
		name     string
		raw      []byte
		ars      []string
		mustSign []string
		want     bool
	}{
		{"signed over the NIR header", signed, nil, must, true},
		{"header name written in another case", gw.sign(t, raw, "from", "x-ameli-nir"), nil, must, true},
		{"NIR header altered after signing", bytes.Replace(signed, []byte("X-Ameli-NIR: 185066912308738"), []byte("X-Ameli-NIR: 290107511104250"), 1), nil, must, false},
		{"body altered after signing", bytes.Replace(signed, []byte("ma fille"), []byte("mon fils"), 1), nil, must, false},
		{"NIR header not covered", gw.sign(t, raw, "From", "Subject"), nil, must, false},
		{"NIR header not covered, not required", gw.sign(t, raw, "From", "Subject"), nil, nil, true},
		{"signed by another domain", other.sign(t, raw, "From", "X-Ameli-NIR"), nil, must, false},
		{"key not published", newTestKey(t, domain, "gone").sign(t, raw, "From", "X-Ameli-NIR"), nil, must, false},
		{"not signed", raw, nil, must, false},
		// The trusted server's verdict, when there is one, is final.
		{"good signature, trusted fail", signed, []string{"mx.attestation.example; dkim=fail header.d=" + domain}, must, false},
		// A second NIR header above the signed one leaves the signature
		// valid (DKIM reads fields from the bottom): Identify refuses it.
		{"second NIR header above", append([]byte("X-Ameli-NIR: 290107511104250\r\n"), signed...), nil, must, true},
		{"second NIR header below", bytes.Replace(signed, []byte("X-Ameli-NIR: 185066912308738\r\n"), []byte("X-Ameli-NIR: 185066912308738\r\nX-Ameli-NIR: 290107511104250\r\n"), 1), nil, must, false},
		{"second From above", append([]byte("From: eva.dupont@example.org\r\n"), signed...), nil, must, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.Authenticated(tc.raw, tc.ars, domain, tc.mustSign); got != tc.want {
				t.Errorf("Authenticated = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSeveralFromNeverAuthenticate(t *testing.T) {
	a := &mailauth.Authenticator{TrustedIDs: []string{"mx.attestation.example"}}
	pass := []string{"mx.attestation.example; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"}
	for name, from := range map[string]string{
		"two From fields":        "From: eva.dupont@example.org\r\nFrom: mallory@example.org\r\n",
		"two addresses in From":  "From: eva.dupont@example.org, mallory@example.org\r\n",
		"no address in the From": "From: undisclosed\r\n",
	} {
		raw := []byte(from + "To: attestation@cpam.example\r\nSubject: attestation\r\n\r\nBonjour\r\n")
		if a.Authenticated(raw, pass, "example.org", nil) {
			t.Errorf("%s: authenticated", name)
		}
	}
	one := []byte("From: Eva <eva.dupont@example.org>\r\nSubject: attestation\r\n\r\nBonjour\r\n")
	if !a.Authenticated(one, pass, "example.org", nil) {
		t.Error("a single From with a display name is not authenticated")
	}
}
