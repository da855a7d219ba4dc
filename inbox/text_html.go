package inbox

import (
	"html"
	"strings"
)

// htmlToText turns an HTML body into the text a reader sees: tags removed,
// entities decoded, paragraphs and <br> as line ends, the content of
// <blockquote> prefixed with "> " (a quoted message, as in plain text), and
// <head>, <script>, <style> and comments left out. It is a small tolerant
// scanner, linear in its input, not a full HTML5 parser: broken markup
// degrades to text, never to an error.
func htmlToText(s string) string {
	c := htmlConv{}
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			c.text(html.UnescapeString(s[i : i+j]))
			i += j
			continue
		}
		i = c.markup(s, i)
	}
	c.flush()
	return strings.TrimSpace(c.out.String())
}

// htmlConv is the output side of htmlToText.
type htmlConv struct {
	out   strings.Builder
	line  strings.Builder
	quote int  // <blockquote> depth
	pre   int  // <pre> depth: white space kept
	blank bool // the last line written is blank
	space bool // a space is pending before the next word
	wrote bool // anything written yet
}

// markup handles the markup at s[i] == '<' and returns where text resumes.
func (c *htmlConv) markup(s string, i int) int {
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "<!--"):
		return skipPast(s, i+4, "-->")
	case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
		return skipPast(s, i+2, ">")
	case len(rest) > 1 && (isASCIILetter(rest[1]) || rest[1] == '/' && len(rest) > 2 && isASCIILetter(rest[2])):
	default:
		c.text("<") // a lone "<" in text
		return i + 1
	}
	closing := rest[1] == '/'
	j := 1
	if closing {
		j = 2
	}
	k := j
	for k < len(rest) && (isASCIILetter(rest[k]) || rest[k] >= '0' && rest[k] <= '9') {
		k++
	}
	name := strings.ToLower(rest[j:k])
	end := tagEnd(s, i+k)
	if !closing {
		switch name {
		case "script", "style", "title", "template", "noscript", "xml":
			return skipPastFold(s, end, "</"+name)
		case "head":
			if e := skipPastFold(s, end, "</head"); e < len(s) {
				return e
			}
			return end
		}
	}
	c.tag(name, closing)
	return end
}

func (c *htmlConv) tag(name string, closing bool) {
	switch name {
	case "br":
		c.newline()
	case "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "address", "center", "form", "fieldset":
		c.paragraph()
	case "div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "hr", "caption", "tbody", "thead":
		c.endLine()
		if name == "li" && !closing {
			c.line.WriteString("- ")
		}
	case "td", "th":
		c.space = true
	case "blockquote":
		c.endLine()
		if closing && c.quote > 0 {
			c.quote--
		} else if !closing {
			c.quote++
		}
	case "pre":
		c.endLine()
		if closing && c.pre > 0 {
			c.pre--
		} else if !closing {
			c.pre++
		}
	}
}

// text appends decoded character data.
func (c *htmlConv) text(t string) {
	for _, r := range t {
		switch {
		case r == '\n' && c.pre > 0:
			c.newline()
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0':
			c.space = true
		default:
			if c.space && c.line.Len() > 0 {
				c.line.WriteByte(' ')
			}
			c.space = false
			c.line.WriteRune(r)
		}
	}
}

// endLine ends the current line if it has text.
func (c *htmlConv) endLine() {
	if strings.TrimSpace(c.line.String()) != "" {
		c.newline()
	}
	c.space = false
}

// paragraph ends the current line and leaves one blank line.
func (c *htmlConv) paragraph() {
	c.endLine()
	if c.wrote && !c.blank {
		c.newline()
	}
}

func (c *htmlConv) newline() {
	line := strings.TrimRight(c.line.String(), " ")
	c.line.Reset()
	c.space = false
	if line == "" && (c.blank || !c.wrote) {
		return // no run of blank lines, none at the start
	}
	for range c.quote {
		c.out.WriteString("> ")
	}
	c.out.WriteString(line)
	c.out.WriteByte('\n')
	c.blank = line == ""
	c.wrote = true
}

func (c *htmlConv) flush() { c.endLine() }

// tagEnd returns the index just past the ">" that closes the tag whose
// attributes start at s[i], honouring quoted attribute values; without one,
// the first ">" closes it; without any, the rest of s is the tag.
func tagEnd(s string, i int) int {
	var q byte
	for k := i; k < len(s); k++ {
		switch c := s[k]; {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return k + 1
		}
	}
	if k := strings.IndexByte(s[i:], '>'); k >= 0 {
		return i + k + 1
	}
	return len(s)
}

// skipPast returns the index just past the next marker from i, or len(s).
func skipPast(s string, i int, marker string) int {
	if i > len(s) {
		return len(s)
	}
	if k := strings.Index(s[i:], marker); k >= 0 {
		return i + k + len(marker)
	}
	return len(s)
}

// skipPastFold is skipPast for an ASCII marker in any case, then past the
// ">" that ends the closing tag.
func skipPastFold(s string, i int, marker string) int {
	if i >= len(s) {
		return len(s)
	}
	k := indexFold(s[i:], marker)
	if k < 0 {
		return len(s)
	}
	return tagEnd(s, i+k+len(marker))
}

// indexFold is strings.Index ignoring ASCII case, for a lower-case ASCII
// needle; linear in s.
func indexFold(s, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if c := s[i] | 0x20; (c == needle[0] || s[i] == needle[0]) && strings.EqualFold(s[i:i+n], needle) {
			return i
		}
	}
	return -1
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
