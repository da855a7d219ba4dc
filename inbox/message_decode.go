package inbox

import (
	"bytes"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-*, windows-125x and the other common charsets
	"golang.org/x/text/encoding/charmap"
)

// decodeTransfer undoes a Content-Transfer-Encoding, leniently: bad base64
// characters are skipped and a bad quoted-printable escape is kept as
// written, so that one broken line never costs the whole part. ok is false
// when the encoding is unknown (the bytes are then returned as they are).
func decodeTransfer(enc string, b []byte) (out []byte, clean, ok bool) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		out, clean = decodeBase64(b)
		return out, clean, true
	case "quoted-printable":
		out, clean = decodeQP(b)
		return out, clean, true
	case "", "7bit", "8bit", "binary":
		return b, true, true
	}
	return b, true, false
}

// decodeBase64 decodes base64, skipping any character outside the alphabet
// and restarting after padding (two encoded blobs glued together decode
// both). clean is false when something had to be skipped.
func decodeBase64(b []byte) (out []byte, clean bool) {
	out = make([]byte, 0, len(b)*3/4)
	clean = true
	var q [4]byte
	n := 0
	flush := func() {
		switch n {
		case 2:
			out = append(out, q[0]<<2|q[1]>>4)
		case 3:
			out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
		case 1:
			clean = false // a lone sextet carries no whole byte
		}
		n = 0
	}
	for _, c := range b {
		v, valid := base64Value(c)
		switch {
		case valid:
			q[n] = v
			n++
			if n == 4 {
				out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
				n = 0
			}
		case c == '=':
			flush()
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			clean = false
		}
	}
	flush()
	return out, clean
}

func base64Value(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}

// decodeQP decodes quoted-printable (RFC 2045 section 6.7). A soft line
// break ("=" at the end of a line) joins lines; an "=" not followed by two
// hex digits is kept as it is, and clean turns false.
func decodeQP(b []byte) (out []byte, clean bool) {
	out = make([]byte, 0, len(b))
	clean = true
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := b[i+1:]
		// Soft line break: "=" then optional blanks then a line end.
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		switch {
		case j < len(rest) && rest[j] == '\n':
			i += j + 1
			continue
		case j+1 < len(rest) && rest[j] == '\r' && rest[j+1] == '\n':
			i += j + 2
			continue
		case j == len(rest):
			i += j // "=" at the very end
			continue
		}
		if len(rest) >= 2 {
			hi, ok1 := hexValue(rest[0])
			lo, ok2 := hexValue(rest[1])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		clean = false
		out = append(out, c)
	}
	return out, clean
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f': // lower case is not canonical but is seen
		return c - 'a' + 10, true
	}
	return 0, false
}

// decodeCharset converts text in the named charset to UTF-8 through
// go-message's charset table. known is false when the charset is unknown:
// the text is then read best effort (as UTF-8 when it is valid UTF-8, as
// windows-1252 otherwise, the usual mislabel of French mail).
func decodeCharset(name string, b []byte) (s string, known bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return bestEffort(b), true
	}
	var h message.Header
	h.SetContentType("text/plain", map[string]string{"charset": name})
	e, err := message.New(h, bytes.NewReader(b))
	if err != nil && message.IsUnknownCharset(err) {
		return bestEffort(b), false
	}
	if err != nil || e == nil {
		return bestEffort(b), false
	}
	out, err := io.ReadAll(e.Body)
	if err != nil {
		return bestEffort(b), false
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

// bestEffort reads bytes of unknown charset: UTF-8 when they are valid
// UTF-8, else windows-1252 (a superset of ISO-8859-1 for printable text).
func bestEffort(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// cleanText makes decoded text safe to read: line ends become "\n", NUL and
// the other control characters (but tab) are dropped, invalid UTF-8 is
// replaced.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
		case unicode.IsControl(r) || r == '\uFEFF':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oneLine makes a header value fit on one line: controls (CR, LF, tab, NUL)
// become spaces, runs of spaces collapse, at most max runes are kept.
func oneLine(s string, max int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\uFEFF' {
			space = true
			continue
		}
		if n >= max {
			break
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String()
}
