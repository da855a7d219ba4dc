package mailauth_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cpam/attestd/mailauth"
	"github.com/cpam/attestd/mailauth/dkimtest"
)

// crlf turns a message written with \n into one with CRLF line ends.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n"))
}

const trustedID = "mx.attestation.example"

func newAuthenticator(keys ...dkimtest.Key) *mailauth.Authenticator {
	return &mailauth.Authenticator{TrustedIDs: []string{trustedID}, LookupTXT: dkimtest.Lookup(keys...)}
}

// message is a request from addr with the given header fields on top, each
// written "Name: value" (a value may hold folds); a field without a name is
// an Authentication-Results value.
func message(addr string, fields ...string) []byte {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(field(f) + "\r\n")
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: attestation@cpam.example\r\nSubject: attestation de droits\r\n", addr)
	b.WriteString("Message-ID: <unit@test.example>\r\n\r\nBonjour, mon attestation de droits svp.\r\n")
	return []byte(b.String())
}

var named = regexp.MustCompile(`^[A-Za-z][A-Za-z-]*:`)

// field writes f as a header field: "Name: value" as is, a bare value as
// Authentication-Results.
func field(f string) string {
	switch {
	case named.MatchString(f):
		return f
	case strings.HasPrefix(f, "\r\n"):
		return "Authentication-Results:" + f
	}
	return "Authentication-Results: " + f
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

// The trusted receiving server's results, as it would write them, and
// forgeries a sender could add.
const (
	pass      = trustedID + "; dkim=pass header.d=example.org; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org"
	fail      = trustedID + "; dkim=fail header.d=example.org; spf=fail smtp.mailfrom=example.org; dmarc=fail header.from=example.org"
	forged    = trustedID + "; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
	untrusted = "mx.evil.test; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
	// The genuine headers of issue 16: sender-controlled text that makes
	// a naive parser give up.
	quotedMailFrom = trustedID + `; spf=pass smtp.mailfrom="a;b"@evil.test; dkim=none; dmarc=fail header.from=example.org`
	quotedI        = trustedID + `; dkim=pass header.i="x;y"@evil.test header.d=evil.test; dmarc=fail header.from=example.org`
	garbageAfterID = trustedID + ` ]]garbage[[; dmarc=fail header.from=example.org`
	commentFirst   = `(received by the MX; checked) ` + trustedID + `; dmarc=fail header.from=example.org`
	unknownResult  = trustedID + `; x-frob=maybe (what is this?) policy.frob=1; dmarc=bestguesspass header.from=example.org`
	foldedOddly    = "\r\n\t" + trustedID + "\r\n  ;\r\n dkim=pass header.i=\"x;\r\n y\"@evil.test\r\n (a\r\n comment) ; dmarc=fail\r\n\theader.from=example.org"
)

// genuineFailures are trusted headers that fail, each read the hard way.
var genuineFailures = map[string]string{
	"trusted fail":                    fail,
	"quoted ; in smtp.mailfrom":       quotedMailFrom,
	"quoted ; in header.i":            quotedI,
	"garbage after the id":            garbageAfterID,
	"comment before the id":           commentFirst,
	"result the parser does not know": unknownResult,
	"folded oddly":                    foldedOddly,
	"unterminated quoted string":      trustedID + `; spf=pass smtp.mailfrom="a;b@evil.test; dmarc=fail header.from=example.org`,
	"garbage after the results":       fail + " ]]",
}

// TestForgeryAroundGenuineFailures: whatever the genuine trusted header
// says that attestd cannot read, a forged pass above or below it does not
// make the message pass.
func TestForgeryAroundGenuineFailures(t *testing.T) {
	a := newAuthenticator()
	for name, genuine := range genuineFailures {
		for _, order := range [][]string{{genuine}, {forged, genuine}, {genuine, forged}, {untrusted, genuine, untrusted}} {
			if res := a.Check(message("eva.dupont@example.org", order...), "eva.dupont@example.org", nil); res.Pass || res.Reason == "" {
				t.Errorf("%s, %d headers: %+v, want a failure with its reason", name, len(order), res)
			}
		}
	}
	if res := a.Check(message("eva.dupont@example.org", forged), "eva.dupont@example.org", nil); !res.Pass {
		t.Errorf("the forged header alone does not pass (%s): the test above proves nothing", res.Reason)
	}
}

func TestCheckTrustedResults(t *testing.T) {
	a := newAuthenticator()
	tests := []struct {
		name string
		from string // default eva.dupont@example.org
		ars  []string
		want bool
	}{
		{"trusted pass", "", []string{pass}, true},
		{"trusted id in other case", "", []string{strings.Replace(pass, trustedID, "MX.Attestation.Example", 1)}, true},
		{"quoted trusted id", "", []string{`"` + trustedID + `"` + strings.TrimPrefix(pass, trustedID)}, true},
		{"comment before the id, pass", "", []string{"(from the MX) " + pass}, true},
		{"comment holding ; after the id", "", []string{trustedID + " (a;b) ; dmarc=pass header.from=example.org"}, true},
		{"authres-version", "", []string{trustedID + " 1; dmarc=pass header.from=example.org"}, true},
		{"quoted ; in a genuine pass", "", []string{trustedID + `; spf=pass smtp.mailfrom="a;b"@example.org; dkim=pass header.i="x;y"@example.org; dmarc=pass header.from=example.org`}, true},
		{"real-world comments and header.b", "", []string{trustedID + "; dkim=pass header.i=@example.org header.s=s1 header.b=ab/c+d=; spf=pass (domain of x@example.org designates 192.0.2.1 as permitted sender) smtp.mailfrom=x@example.org; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.org"}, true},
		{"unknown method beside a dmarc pass", "", []string{trustedID + "; arc=pass; x-frob=ok; dmarc=pass action=none header.from=example.org"}, true},
		{"trailing ;", "", []string{pass + ";"}, true},
		{"method names in capitals", "", []string{trustedID + "; DMARC=Pass header.From=Example.ORG"}, true},
		{"aligned dkim alone", "", []string{trustedID + "; dkim=pass header.d=example.org"}, true},
		{"dkim of a parent domain", "eva@mail.example.org", []string{trustedID + "; dkim=pass header.d=example.org"}, true},
		{"dkim of a sibling domain", "eva@mail.example.org", []string{trustedID + "; dkim=pass header.d=news.example.org"}, true},
		{"dkim by header.i", "", []string{trustedID + "; dkim=pass header.i=@example.org"}, true},
		{"dkim of the organizational domain under a public suffix", "eva@a.example.co.uk", []string{trustedID + "; dkim=pass header.d=b.example.co.uk"}, true},
		{"dkim of another domain under the same public suffix", "eva@example.co.uk", []string{trustedID + "; dkim=pass header.d=evil.co.uk"}, false},
		{"dkim of the public suffix", "eva@example.co.uk", []string{trustedID + "; dkim=pass header.d=co.uk"}, false},
		{"dkim of another domain", "", []string{trustedID + "; dkim=pass header.d=evil.test"}, false},
		{"dkim header.i quoted whole", "", []string{trustedID + `; dkim=pass header.i="x@example.org"`}, false},
		{"dkim pass beside a dkim fail", "", []string{trustedID + "; dkim=pass header.d=example.org; dkim=fail header.d=evil.test"}, false},
		{"dkim pass with two header.d", "", []string{trustedID + "; dkim=pass header.d=evil.test header.d=example.org"}, false},
		{"dmarc of another domain", "", []string{trustedID + "; dmarc=pass header.from=evil.test"}, false},
		{"dmarc of a parent domain", "eva@mail.example.org", []string{trustedID + "; dmarc=pass header.from=example.org"}, false},
		{"dmarc without header.from", "", []string{trustedID + "; dmarc=pass"}, false},
		{"dmarc with two header.from", "", []string{trustedID + "; dmarc=pass header.from=evil.test header.from=example.org"}, false},
		{"dmarc fail beside an aligned dkim pass", "", []string{trustedID + "; dkim=pass header.d=example.org; dmarc=fail header.from=example.org"}, false},
		{"dmarc none", "", []string{trustedID + "; dkim=pass header.d=example.org; dmarc=none header.from=example.org"}, false},
		{"dmarc pass beside a dmarc fail", "", []string{trustedID + "; dmarc=pass header.from=example.org; dmarc=fail header.from=example.org"}, false},
		{"method name merely like dkim", "", []string{trustedID + "; dkim-adsp=pass header.d=example.org; x-dkim=pass header.d=example.org"}, false},
		{"spf alone", "", []string{trustedID + "; spf=pass smtp.mailfrom=example.org"}, false},
		{"none", "", []string{trustedID + "; none"}, false},
		{"id alone", "", []string{trustedID}, false},
		{"unterminated quoted string", "", []string{trustedID + `; spf=pass smtp.mailfrom="a;b@evil.test; dmarc=pass header.from=example.org`}, false},
		{"unterminated comment", "", []string{trustedID + "; dmarc=pass (comment header.from=example.org"}, false},
		{"garbage after the results", "", []string{pass + " ]]"}, false},
		{"quote inside a value", "", []string{trustedID + `; dmarc=pass header.from=exa"mple".org`}, false},
		{"trusted id in an unreadable header", "", []string{"(" + trustedID + "; dmarc=fail", forged}, false},
		{"trusted id folded in an unreadable header", "", []string{"Authentication-Results: mx.attestation\r\n .example; dmarc=fail header.from=example.org", forged}, false},
		{"header name in lower case", "", []string{"authentication-results: " + fail, forged}, false},
		{"untrusted id saying pass", "", []string{untrusted}, false},
		{"untrusted pass above a trusted fail", "", []string{untrusted, fail}, false},
		{"untrusted id extending the trusted one", "", []string{trustedID + ".evil.test; dmarc=pass header.from=example.org"}, false},
		{"untrusted well-formed header naming the trusted id", "", []string{"mx.evil.test; dkim=fail header.d=" + trustedID, pass}, true},
		{"unparsable untrusted header", "", []string{"garbage without a semicolon ===", pass}, true},
		{"none at all", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.from
			if from == "" {
				from = "eva.dupont@example.org"
			}
			res := a.Check(message(from, tc.ars...), from, nil)
			if res.Pass != tc.want {
				t.Errorf("Check = %+v, want pass %v", res, tc.want)
			}
			if !res.Pass && res.Reason == "" {
				t.Error("a failure without its reason")
			}
		})
	}
}

func TestCheckOwnDKIM(t *testing.T) {
	gw := dkimtest.NewKey(t, "messagerie.ameli.example", "gw2026")
	other := dkimtest.NewKey(t, "evil.test", "s1")
	a := newAuthenticator(gw, other)
	raw := crlf(gatewayMessage)
	must := []string{"X-Ameli-NIR"}
	signed := gw.Sign(t, raw, "From", "Subject", "Date", "Message-ID", "X-Ameli-NIR")
	const domain = "messagerie.ameli.example"
	withAR := func(v string, raw []byte) []byte { return append([]byte("Authentication-Results: "+v+"\r\n"), raw...) }
	sixSigned := raw
	for range 6 {
		sixSigned = other.Sign(t, sixSigned, "From")
	}

	tests := []struct {
		name     string
		raw      []byte
		mustSign []string
		want     bool
	}{
		{"signed over the NIR header", signed, must, true},
		{"header name written in another case", gw.Sign(t, raw, "from", "x-ameli-nir"), must, true},
		{"beside a failing signature of another domain", bytes.Replace(other.Sign(t, signed, "From"), []byte("b="), []byte("b=AAAA"), 1), must, true},
		{"NIR header altered after signing", bytes.Replace(signed, []byte("X-Ameli-NIR: 185066912308738"), []byte("X-Ameli-NIR: 290107511104250"), 1), must, false},
		{"body altered after signing", bytes.Replace(signed, []byte("ma fille"), []byte("mon fils"), 1), must, false},
		{"NIR header not covered", gw.Sign(t, raw, "From", "Subject"), must, false},
		{"NIR header not covered, not required", gw.Sign(t, raw, "From", "Subject"), nil, true},
		{"signed by another domain", other.Sign(t, raw, "From", "X-Ameli-NIR"), must, false},
		{"key not published", dkimtest.NewKey(t, domain, "gone").Sign(t, raw, "From", "X-Ameli-NIR"), must, false},
		{"good signature beside a bad one of the same domain", dkimtest.NewKey(t, domain, "gone").Sign(t, signed, "From"), must, false},
		{"signature without a domain", append([]byte("DKIM-Signature: v=1; a=ed25519-sha256; s=x; h=From; bh=AAAA; b=AAAA\r\n"), signed...), must, false},
		{"more signatures than verified", sixSigned, nil, false},
		{"not signed", raw, must, false},
		// The trusted server's verdict, when there is one, is final.
		{"good signature, trusted fail", withAR(trustedID+"; dkim=fail header.d="+domain, signed), must, false},
		{"good signature, unreadable trusted header", withAR(trustedID+`; dkim=pass header.i="x;y@`+domain, signed), must, false},
		// DKIM signs fields from the bottom: a copy above a signed field
		// leaves the signature valid, and is the one a reader sees.
		{"second NIR header above", append([]byte("X-Ameli-NIR: 290107511104250\r\n"), signed...), must, false},
		{"second Subject above", append([]byte("Subject: attestation pour 290107511104250\r\n"), signed...), must, false},
		{"second NIR header below", bytes.Replace(signed, []byte("X-Ameli-NIR: 185066912308738\r\n"), []byte("X-Ameli-NIR: 185066912308738\r\nX-Ameli-NIR: 290107511104250\r\n"), 1), must, false},
		{"second From above", append([]byte("From: eva.dupont@example.org\r\n"), signed...), must, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if res := a.Check(tc.raw, "messagerie@"+domain, tc.mustSign); res.Pass != tc.want {
				t.Errorf("Check = %+v, want pass %v", res, tc.want)
			}
		})
	}
}

func TestCheckFrom(t *testing.T) {
	a := newAuthenticator()
	pass := "Authentication-Results: " + pass + "\r\n"
	for name, from := range map[string]string{
		"two From fields":          "From: eva.dupont@example.org\r\nFrom: mallory@example.org\r\n",
		"two addresses in From":    "From: eva.dupont@example.org, mallory@example.org\r\n",
		"no address in the From":   "From: undisclosed\r\n",
		"From that does not parse": "From: Eva <eva.dupont@example.org\r\n",
		"no From":                  "",
	} {
		raw := []byte(pass + from + "To: attestation@cpam.example\r\nSubject: attestation\r\n\r\nBonjour\r\n")
		if res := a.Check(raw, "eva.dupont@example.org", nil); res.Pass {
			t.Errorf("%s: authenticated", name)
		}
	}
	one := []byte(pass + "From: Eva <Eva.Dupont@example.org>\r\nSubject: attestation\r\n\r\nBonjour\r\n")
	if res := a.Check(one, "eva.dupont@example.org", nil); !res.Pass {
		t.Errorf("a single From with a display name: %s", res.Reason)
	}
	if res := a.Check(one, "mallory@example.org", nil); res.Pass {
		t.Error("authenticated for an address other than the From's")
	}
	broken := append([]byte("Bad header line without a colon\r\n"), one...)
	if res := a.Check(broken, "eva.dupont@example.org", nil); res.Pass {
		t.Error("a header that does not parse is authenticated")
	}
}
