package mailauth

import (
	"errors"
	"strings"
)

// The lexical layer of RFC 8601 (and of RFC 5322 and RFC 2045 under it):
// folding white space, comments, quoted strings, tokens. Everything here
// fails on what it cannot read rather than guessing: an unterminated comment
// or quoted string, a control character, a stray special.

var (
	errUnterminatedComment = errors.New("unterminated comment")
	errUnterminatedQuote   = errors.New("unterminated quoted string")
	errControl             = errors.New("control character")
	errNoID                = errors.New("no authserv-id")
	errAfterID             = errors.New("unexpected text after the authserv-id")
	errNoMethod            = errors.New("a result without its method")
	errNoResult            = errors.New("a method without its result")
	errProperty            = errors.New("unreadable property")
	errValue               = errors.New("unreadable property value")
	errSeparator           = errors.New("unexpected text between results")
)

// maxCommentDepth bounds nested comments; deeper is unreadable.
const maxCommentDepth = 64

// lexer reads one header field value, folded (CRLF followed by white space)
// or already unfolded.
type lexer struct {
	s string
	i int
}

func (l *lexer) done() bool { return l.i >= len(l.s) }

func (l *lexer) peek() byte {
	if l.done() {
		return 0
	}
	return l.s[l.i]
}

// fws skips white space and folding. A CR or LF that is not part of a
// fold (CRLF then white space) is an error: it would end the field.
func (l *lexer) fws() error {
	for !l.done() {
		switch c := l.s[l.i]; {
		case c == ' ' || c == '\t':
			l.i++
		case c == '\r' || c == '\n':
			n := 1
			if c == '\r' && l.i+1 < len(l.s) && l.s[l.i+1] == '\n' {
				n = 2
			}
			if l.i+n >= len(l.s) || (l.s[l.i+n] != ' ' && l.s[l.i+n] != '\t') {
				return errControl
			}
			l.i += n
		default:
			return nil
		}
	}
	return nil
}

// cfws skips white space, folding and comments.
func (l *lexer) cfws() error {
	for {
		if err := l.fws(); err != nil {
			return err
		}
		if l.peek() != '(' {
			return nil
		}
		if err := l.comment(); err != nil {
			return err
		}
	}
}

// comment skips one comment, nested comments and quoted pairs included.
func (l *lexer) comment() error {
	depth := 0
	for !l.done() {
		c := l.s[l.i]
		switch {
		case c == '\\':
			if l.i+1 >= len(l.s) || isCtl(l.s[l.i+1]) {
				return errUnterminatedComment
			}
			l.i += 2
			continue
		case c == '(':
			if depth++; depth > maxCommentDepth {
				return errUnterminatedComment
			}
		case c == ')':
			if depth--; depth == 0 {
				l.i++
				return nil
			}
		case c == '\r' || c == '\n':
			if err := l.fws(); err != nil {
				return err
			}
			continue
		case isCtl(c):
			return errControl
		}
		l.i++
	}
	return errUnterminatedComment
}

// quoted reads a quoted string, the opening quote under l.i, and returns
// its content with quoted pairs resolved.
func (l *lexer) quoted() (string, error) {
	var b strings.Builder
	l.i++ // the opening quote
	for !l.done() {
		c := l.s[l.i]
		switch {
		case c == '"':
			l.i++
			return b.String(), nil
		case c == '\\':
			if l.i+1 >= len(l.s) || isCtl(l.s[l.i+1]) {
				return "", errUnterminatedQuote
			}
			b.WriteByte(l.s[l.i+1])
			l.i += 2
			continue
		case c == '\r' || c == '\n':
			if err := l.fws(); err != nil {
				return "", err
			}
			b.WriteByte(' ')
			continue
		case isCtl(c):
			return "", errControl
		}
		b.WriteByte(c)
		l.i++
	}
	return "", errUnterminatedQuote
}

// token reads an RFC 2045 token: one or more characters that are neither
// white space, controls nor tspecials. Bytes over 127 (UTF-8, RFC 8616)
// are taken as token characters. "" when none is under l.i.
func (l *lexer) token() string {
	start := l.i
	for !l.done() && isTokenChar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// keyword reads RFC 8601's Keyword and the dotted names of properties:
// letters, digits, '-', '_' and '.'.
func (l *lexer) keyword() string {
	start := l.i
	for !l.done() {
		c := l.s[l.i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			break
		}
		l.i++
	}
	return l.s[start:l.i]
}

func isCtl(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isTokenChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}
