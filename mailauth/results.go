package mailauth

import "strings"

// result is one resinfo of an Authentication-Results header: method=value
// and its reason and properties (RFC 8601 section 2.2).
type result struct {
	method string // lower case, without its version: "dkim", "dmarc"
	value  string // lower case: "pass", "fail", ...
	props  []prop
}

// prop is a reason or a property: key=value.
type prop struct {
	key  string // lower case: "header.from", "header.d", "reason"
	text string // the value, quoted strings unquoted
	// domain follows the last '@' written outside quotes (a local-part
	// may be a quoted string holding '@'); at tells there was one.
	domain string
	at     bool
}

// values returns the props of r named key.
func (r result) values(key string) []prop {
	var out []prop
	for _, p := range r.props {
		if p.key == key {
			out = append(out, p)
		}
	}
	return out
}

// parseResults reads what follows the authserv-id's ';': every resinfo, or
// "none". It reads all of it or fails: a header read only in part could
// miss the very result that fails.
//
// It is lenient where real servers are (properties without a ptype such as
// "action=none", base64 with '/' or '=' in header.b, empty resinfos
// between two ';'), never in what delimits: a comment or quoted string
// holding ';' stays inside its value, an unterminated one fails.
func parseResults(rest string) ([]result, error) {
	l := &lexer{s: rest}
	if err := l.cfws(); err != nil {
		return nil, err
	}
	if isNone(l) {
		return nil, nil
	}
	var out []result
	for {
		if err := l.cfws(); err != nil {
			return nil, err
		}
		switch {
		case l.done():
			return out, nil
		case l.peek() == ';':
			l.i++
			continue
		}
		r, err := parseResinfo(l)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
}

// isNone reads RFC 8601's no-result, "none" alone, when it is all there is.
func isNone(l *lexer) bool {
	save := l.i
	if strings.EqualFold(l.keyword(), "none") && l.cfws() == nil && l.done() {
		return true
	}
	l.i = save
	return false
}

// parseResinfo reads one methodspec, then its reason and properties, up to
// the next ';' or the end.
func parseResinfo(l *lexer) (result, error) {
	method := l.keyword()
	if method == "" || strings.Contains(method, ".") {
		return result{}, errNoMethod
	}
	if err := l.cfws(); err != nil {
		return result{}, err
	}
	if l.peek() == '/' { // method-version
		l.i++
		if l.cfws() != nil || !digits(l) || l.cfws() != nil {
			return result{}, errNoMethod
		}
	}
	if l.peek() != '=' {
		return result{}, errNoResult
	}
	l.i++
	if err := l.cfws(); err != nil {
		return result{}, err
	}
	value := l.keyword()
	if value == "" || strings.Contains(value, ".") {
		return result{}, errNoResult
	}
	r := result{method: strings.ToLower(method), value: strings.ToLower(value)}
	for {
		if err := l.cfws(); err != nil {
			return result{}, err
		}
		if l.done() || l.peek() == ';' {
			return r, nil
		}
		p, err := parseProp(l)
		if err != nil {
			return result{}, err
		}
		r.props = append(r.props, p)
	}
}

// parseProp reads key [CFWS] "=" [CFWS] pvalue.
func parseProp(l *lexer) (prop, error) {
	key := l.keyword()
	if key == "" {
		return prop{}, errSeparator
	}
	if err := l.cfws(); err != nil {
		return prop{}, err
	}
	if l.peek() != '=' {
		return prop{}, errProperty
	}
	l.i++
	if err := l.cfws(); err != nil {
		return prop{}, err
	}
	p, err := pvalue(l)
	p.key = strings.ToLower(key)
	return p, err
}

// pvalue reads a property value: a quoted string, a quoted local-part
// followed by "@domain", or a run of printable characters that are not
// white space, ';', a parenthesis, a quote or a backslash. Any other
// mixture of quotes fails.
func pvalue(l *lexer) (prop, error) {
	var p prop
	var b strings.Builder
	if l.peek() == '"' {
		q, err := l.quoted()
		if err != nil {
			return p, err
		}
		b.WriteString(q)
		if l.peek() != '@' {
			p.text = b.String()
			return p, endOfValue(l)
		}
	}
	start, atPos := l.i, -1
	for !l.done() && isValueChar(l.s[l.i]) {
		if l.s[l.i] == '@' {
			atPos = b.Len() + 1
		}
		b.WriteByte(l.s[l.i])
		l.i++
	}
	if l.i == start {
		return p, errValue
	}
	p.text = b.String()
	if atPos >= 0 {
		p.at, p.domain = true, p.text[atPos:]
	}
	return p, endOfValue(l)
}

// endOfValue checks what follows a value: white space, a comment, ';' or
// the end; a quote or a backslash right after a value is unreadable.
func endOfValue(l *lexer) error {
	switch c := l.peek(); {
	case l.done(), c == ' ', c == '\t', c == '\r', c == '\n', c == '(', c == ';':
		return nil
	}
	return errValue
}

func isValueChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(`;()"\`, rune(c))
}
