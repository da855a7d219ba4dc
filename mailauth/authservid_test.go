package mailauth_test

import (
	"strings"
	"testing"

	"github.com/cpam/attestd/mailauth"
)

// authservIDCases are read by TestAuthservID and seed FuzzAuthservID.
var authservIDCases = []struct {
	v, id, rest string
	ok          bool
}{
	{"mx.example; dkim=pass", "mx.example", " dkim=pass", true},
	{"  MX.Example ;dmarc=fail", "MX.Example", "dmarc=fail", true},
	{"mx.example", "mx.example", "", true},
	{"mx.example; none", "mx.example", " none", true},
	{"mx.example 1; spf=pass", "mx.example", " spf=pass", true},
	{"mx.example (a comment; with a semicolon) ; dkim=pass", "mx.example", " dkim=pass", true},
	{"(comment (nested; here) \\) ) mx.example; dkim=pass", "mx.example", " dkim=pass", true},
	{`"mx.example"; dkim=pass`, "mx.example", " dkim=pass", true},
	{`"mx;ex\"ample"; dkim=pass`, `mx;ex"ample`, " dkim=pass", true},
	{"\r\n mx.example\r\n\t;\r\n dkim=pass", "mx.example", "\r\n dkim=pass", true},
	{"mx.example;", "mx.example", "", true},
	{`mx.example; spf=pass smtp.mailfrom="a;b"@evil.test`, "mx.example", ` spf=pass smtp.mailfrom="a;b"@evil.test`, true},
	{"mx.example ]]garbage; dkim=pass", "", "", false},
	{"mx.example 1 2; dkim=pass", "", "", false},
	{"mx.example dkim=pass", "", "", false},
	{"spf=pass smtp.mailfrom=example.org", "", "", false},
	{"; dkim=pass", "", "", false},
	{"", "", "", false},
	{"(unterminated mx.example; dkim=pass", "", "", false},
	{`"unterminated; dkim=pass`, "", "", false},
	{"mx.example\r\n; dkim=pass", "", "", false}, // a bare line break ends the field
	{"mx.exa\x00mple; dkim=pass", "", "", false},
	{"mx.attestation\r\n .example; dmarc=fail", "", "", false},
	{"(" + strings.Repeat("(", 100) + "deep" + strings.Repeat(")", 101) + " mx.example; dkim=pass", "", "", false},
}

func TestAuthservID(t *testing.T) {
	for _, tc := range authservIDCases {
		id, rest, err := mailauth.AuthservID(tc.v)
		if (err == nil) != tc.ok || id != tc.id || rest != tc.rest {
			t.Errorf("AuthservID(%q) = %q, %q, %v; want %q, %q, ok %v", tc.v, id, rest, err, tc.id, tc.rest, tc.ok)
		}
	}
}

// FuzzAuthservID: never panics; an id read is never empty, holds no white
// space or ';' unless it was quoted, and rest is what follows a ';' of v.
func FuzzAuthservID(f *testing.F) {
	for _, tc := range authservIDCases {
		f.Add(tc.v)
	}
	for _, v := range genuineFailures {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, rest, err := mailauth.AuthservID(v)
		if err != nil {
			if id != "" || rest != "" {
				t.Fatalf("error %v with id %q rest %q", err, id, rest)
			}
			return
		}
		if id == "" {
			t.Fatal("empty id without an error")
		}
		if !strings.HasSuffix(v, rest) || (rest != "" && !strings.HasSuffix(v, ";"+rest)) {
			t.Fatalf("rest %q is not what follows a ';' of %q", rest, v)
		}
		if strings.ContainsAny(id, " \t\r\n;") && !strings.Contains(v, `"`) {
			t.Fatalf("id %q from %q", id, v)
		}
	})
}
