package inbox

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseMessage: no input panics, and every result stays within the
// limits: a clear error, or a message whose texts are bounded, valid UTF-8
// without NUL, and whose subject is one line. (FuzzReadMessage, in package
// request, reads what it parses.)
func FuzzParseMessage(f *testing.F) {
	for _, file := range sampleFiles(f) {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(hdr + nestedMultiparts(30, "profond")))
	f.Add([]byte(hdr + "Content-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>L=E9a =ZZ<blockquote>x"))
	for _, body := range []string{
		"Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\n \r\n--a\r\nContent-Type: text/html\r\n\r\n<div>Le 1 a écrit :<blockquote>x</blockquote></div>\r\n--a--\r\n",
		"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeAoKeQ==\r\n--m\r\nContent-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nL=E9a =Z\r\n--m",
		"Content-Type: text/plain\r\n\r\nTexte\r\n---------- Forwarded message ---------\r\nFrom: a\r\nSubject: b\r\n\r\n> Le x a écrit :\r\n-- \r\nsig",
	} {
		f.Add([]byte(hdr + body))
	}
	lim := Limits{MaxMessageBytes: 1 << 20, MaxDepth: 10, MaxParts: 50, MaxForwardDepth: 2, MaxTextBytes: 4 << 10}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseMessage(raw, lim)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnreadable) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if strings.ContainsAny(m.Subject, "\r\n\x00") {
			t.Errorf("Subject %q is not one line", m.Subject)
		}
		texts := []string{m.Text}
		for _, fw := range m.Forwarded {
			texts = append(texts, fw.Text)
		}
		total := 0
		for _, s := range texts {
			total += len(s)
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Errorf("text %q is not clean UTF-8", s)
			}
		}
		if max := lim.MaxParts * lim.MaxTextBytes; total > max {
			t.Errorf("%d bytes of text, more than %d", total, max)
		}
	})
}
