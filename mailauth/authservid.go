package mailauth

// AuthservID reads the authserv-id of an Authentication-Results field value,
// independently of the results that follow it (RFC 8601 section 2.2):
//
//	authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//	                  ( no-result / 1*resinfo ) [CFWS] CRLF
//	authserv-id     = value                  ; a token or a quoted-string
//
// Comments and folding around the id are skipped, a quoted id is unquoted,
// an authres-version is read and dropped. rest is what follows the first
// ';' after the id ("" when the value ends there). The id is returned as
// written: ids compare case-insensitively.
//
// An error says that the value does not start as RFC 8601 says: no id, an
// unterminated comment or quoted string, or anything but a version between
// the id and the ';'. The caller decides what such a field means (for
// Authenticator: a failure when it may be the trusted server's).
func AuthservID(v string) (id, rest string, err error) {
	l := &lexer{s: v}
	if err := l.cfws(); err != nil {
		return "", "", err
	}
	if l.peek() == '"' {
		if id, err = l.quoted(); err != nil {
			return "", "", err
		}
	} else {
		id = l.token()
	}
	if id == "" {
		return "", "", errNoID
	}
	if err := l.cfws(); err != nil {
		return "", "", err
	}
	if digits(l) {
		if err := l.cfws(); err != nil {
			return "", "", err
		}
	}
	switch {
	case l.done():
		return id, "", nil
	case l.peek() == ';':
		return id, v[l.i+1:], nil
	}
	return "", "", errAfterID
}

// digits reads 1*DIGIT, reporting whether there was one.
func digits(l *lexer) bool {
	start := l.i
	for !l.done() && l.s[l.i] >= '0' && l.s[l.i] <= '9' {
		l.i++
	}
	return l.i > start
}
