package mailauth_test

import (
	"slices"
	"strings"
	"testing"
)

// FuzzForgeryNeverPasses asserts the promise of SPEC section 2: for a
// message that fails, adding any header field the sender controls (here an
// Authentication-Results field, or a field of any name, with arbitrary
// content, anywhere above or below the trusted server's) never makes it
// pass.
//
// genuine is the trusted server's header value: any value that Trusted
// takes as the trusted server's (the server writes its own id; what
// follows is partly the sender's). name, value and pos are the field the
// sender adds: its name ("" for Authentication-Results), its content and
// its place among the header fields.
func FuzzForgeryNeverPasses(f *testing.F) {
	names := []string{"", "authentication-results", "From", "X-Authentication-Results"}
	forgeries := []string{forged, untrusted, pass, "(" + trustedID + ") " + trustedID + "; dmarc=pass header.from=example.org",
		"\r\n " + trustedID + ";\r\n dmarc=pass\r\n header.from=example.org", `"` + trustedID + `"; dmarc=pass header.from=example.org`}
	var pos uint8
	for _, genuine := range sortedValues(genuineFailures) {
		for _, forgery := range forgeries {
			pos++
			f.Add(genuine, names[int(pos)%len(names)], forgery, pos%6)
		}
	}
	for _, tc := range authservIDCases {
		f.Add(trustedID+"; dmarc=fail header.from=example.org", "", tc.v, uint8(0))
	}
	a := newAuthenticator()
	const from = "eva.dupont@example.org"
	f.Fuzz(func(t *testing.T, genuine, name, value string, pos uint8) {
		genuine = folded(genuine)
		if !a.Trusted(genuine) {
			return // not the trusted server's header: outside the promise
		}
		fields := []string{"Authentication-Results: " + genuine, "From: " + from,
			"To: attestation@cpam.example", "Subject: attestation de droits", "Message-ID: <fuzz@test.example>"}
		if a.Check(raw(fields), from, nil).Pass {
			return // the genuine header passes: nothing to forge
		}
		if !validName(name) {
			name = "Authentication-Results"
		}
		at := int(pos) % (len(fields) + 1)
		fields = slices.Insert(fields, at, name+": "+folded(value))
		if res := a.Check(raw(fields), from, nil); res.Pass {
			t.Fatalf("a forged field made the message pass:\n%s", raw(fields))
		}
	})
}

func raw(fields []string) []byte {
	return []byte(strings.Join(fields, "\r\n") + "\r\n\r\nBonjour, mon attestation de droits svp.\r\n")
}

// folded makes s one header field value: every line break is a fold
// (CRLF, then white space), so that s cannot end the field or the header.
func folded(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	for i := 1; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], " ") && !strings.HasPrefix(lines[i], "\t") {
			lines[i] = " " + lines[i]
		}
	}
	return strings.Join(lines, "\r\n")
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func sortedValues(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
