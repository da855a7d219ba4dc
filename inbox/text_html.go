package inbox

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText turns an HTML body into the text a reader sees: tags removed,
// entities decoded, paragraphs and <br> as line ends, the content of
// <blockquote> prefixed with "> " (a quoted message, as in plain text), and
// <head>, <script>, <style> and comments left out. The markup is read by
// golang.org/x/net/html's tokenizer, which follows HTML5's tokenization
// rules (raw text of <script> and <style>, attributes holding ">", bogus
// comments): broken markup degrades to text, never to an error, in time
// linear in the input.
func htmlToText(s string) string {
	c := htmlConv{}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken: // io.EOF: the reader is a string
			c.flush()
			return strings.TrimSpace(c.out.String())
		case html.TextToken:
			c.textToken(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			c.startTag(tagName(z))
		case html.EndTagToken:
			c.endTag(tagName(z))
		}
		// Comments and the doctype are left out.
	}
}

// tagName is the current tag's lower-case name; a known HTML name costs no
// allocation.
func tagName(z *html.Tokenizer) string {
	name, _ := z.TagName()
	if a := atom.Lookup(name); a != 0 {
		return a.String()
	}
	return string(name)
}

// htmlConv is the output side of htmlToText.
type htmlConv struct {
	out   strings.Builder
	line  strings.Builder
	quote int      // <blockquote> depth
	pre   int      // <pre> depth: white space kept
	skip  []string // the open elements whose content is left out ("head", "script"...)
	blank bool     // the last line written is blank
	space bool     // a space is pending before the next word
	wrote bool     // anything written yet
}

// skipped are the elements whose content is not text a reader sees.
var skipped = map[string]bool{"head": true, "script": true, "style": true, "title": true, "template": true, "noscript": true, "xml": true}

// inHead are the elements HTML5 lets stay in <head>: any other start tag,
// or text, ends a <head> left open (as the HTML5 parser does).
var inHead = map[string]bool{"title": true, "style": true, "script": true, "meta": true, "link": true, "base": true, "noscript": true, "template": true}

// onlyHead reports whether the one element skipped is an open <head>.
func (c *htmlConv) onlyHead() bool { return len(c.skip) == 1 && c.skip[0] == "head" }

func (c *htmlConv) startTag(name string) {
	if c.onlyHead() && !inHead[name] {
		c.skip = c.skip[:0] // <body>, <p>...: the head was not closed
	}
	if skipped[name] {
		c.skip = append(c.skip, name)
		return
	}
	if len(c.skip) == 0 {
		c.tag(name, false)
	}
}

func (c *htmlConv) endTag(name string) {
	for i := len(c.skip) - 1; i >= 0; i-- {
		if c.skip[i] == name {
			c.skip = c.skip[:i] // closes what was left open inside it too
			return
		}
	}
	if len(c.skip) == 0 {
		c.tag(name, true)
	}
}

func (c *htmlConv) textToken(t []byte) {
	if c.onlyHead() && len(bytes.TrimSpace(t)) != 0 {
		c.skip = c.skip[:0] // text: the head was not closed
	}
	if len(c.skip) == 0 {
		c.text(t)
	}
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
func (c *htmlConv) text(t []byte) {
	for _, r := range string(t) { // no copy: the compiler ranges over t
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
