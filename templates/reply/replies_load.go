package reply

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	"github.com/cpam/attestd/rules"
)

// mailFS holds the default reply templates. It is read-only.
//
//go:embed mail/*.tmpl
var mailFS embed.FS

// Shared template files start with "_": every outcome's template can call
// the templates they define.
const sharedPrefix = "_"

func textFile(o rules.Outcome) string { return string(o) + ".txt.tmpl" }
func htmlFile(o rules.Outcome) string { return string(o) + ".html.tmpl" }

// source is one template file: its content and where it came from, for
// error messages.
type source struct {
	origin string // embeddedOrigin + name, or the override's path
	text   string
}

const embeddedOrigin = "embedded mail/"

func (s source) embedded() bool { return strings.HasPrefix(s.origin, embeddedOrigin) }

// LoadReplies parses the reply templates: the embedded ones, each replaced by
// the file of the same name in overrideDir when there is one ("" = embedded
// only). Every template is rendered once against sample data, so a template
// that does not parse, names a field that does not exist or renders nothing
// is an error here, naming the file. A *.tmpl file in overrideDir that
// matches no embedded name is an error too (a misspelt override would
// otherwise be ignored silently); other files there are ignored.
func LoadReplies(overrideDir string) (*Replies, error) {
	files, err := embeddedSources()
	if err != nil {
		return nil, err
	}
	if overrideDir == "" {
		return parseAll(files)
	}
	if err := applyOverrides(files, overrideDir); err != nil {
		return nil, err
	}
	r, err := parseAll(files)
	if err != nil {
		return nil, fmt.Errorf("%w (fix the override, or remove it to use the embedded text)", err)
	}
	return r, nil
}

// Reload parses the templates again as LoadReplies(overrideDir) does and,
// when every one is good, puts them in place of r's: a reply rendered
// meanwhile uses the old set or the new one, whole. On error r keeps its
// templates and the error names the file, as LoadReplies's does.
func (r *Replies) Reload(overrideDir string) error {
	n, err := LoadReplies(overrideDir)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.text, r.html = n.text, n.html
	r.mu.Unlock()
	return nil
}

// parseAll parses and tries every reply template of files.
func parseAll(files map[string]source) (*Replies, error) {
	r := &Replies{
		text: map[rules.Outcome]*texttemplate.Template{},
		html: map[rules.Outcome]*htmltemplate.Template{},
	}
	textBase := texttemplate.New("").Option("missingkey=error").Funcs(funcs())
	htmlBase := htmltemplate.New("").Option("missingkey=error").Funcs(funcs())
	for _, name := range knownNames(files) {
		if !strings.HasPrefix(name, sharedPrefix) {
			continue
		}
		var err error
		switch {
		case strings.HasSuffix(name, ".txt.tmpl"):
			_, err = parseText(textBase, files[name], name)
		case strings.HasSuffix(name, ".html.tmpl"):
			_, err = parseHTML(htmlBase, files[name], name)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, o := range rules.Outcomes {
		if kindOf(o) == noReply {
			continue
		}
		if err := r.parseOutcome(o, files, textBase, htmlBase); err != nil {
			return nil, err
		}
		if err := r.tryOutcome(o, files); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// embeddedSources returns the embedded templates by file name.
func embeddedSources() (map[string]source, error) {
	entries, err := fs.ReadDir(mailFS, "mail")
	if err != nil {
		return nil, fmt.Errorf("templates: read embedded templates: %w", err)
	}
	files := map[string]source{}
	for _, e := range entries {
		b, err := mailFS.ReadFile(path.Join("mail", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("templates: read embedded %s: %w", e.Name(), err)
		}
		files[e.Name()] = source{origin: embeddedOrigin + e.Name(), text: string(b)}
	}
	return files, nil
}

// applyOverrides replaces files with the *.tmpl files of dir.
func applyOverrides(files map[string]source, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("templates: read override directory: %w (fix the path or leave it empty to use the embedded texts)", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		p := filepath.Join(dir, name)
		if _, ok := files[name]; !ok {
			return fmt.Errorf("templates: override %s matches no reply template; known names: %s", p, strings.Join(knownNames(files), ", "))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("templates: read override: %w", err)
		}
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // byte order mark some editors add
		if !utf8.Valid(b) {
			return fmt.Errorf("templates: override %s is not UTF-8: save it as UTF-8", p)
		}
		files[name] = source{origin: p, text: string(b)}
	}
	return nil
}

func knownNames(files map[string]source) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func parseText(t *texttemplate.Template, s source, name string) (*texttemplate.Template, error) {
	if s.origin == "" {
		return nil, fmt.Errorf("templates: %s is missing from the embedded templates", name)
	}
	if _, err := t.New(name).Parse(s.text); err != nil {
		return nil, fmt.Errorf("templates: parse %s: %w", s.origin, err)
	}
	return t, nil
}

func parseHTML(t *htmltemplate.Template, s source, name string) (*htmltemplate.Template, error) {
	if s.origin == "" {
		return nil, fmt.Errorf("templates: %s is missing from the embedded templates", name)
	}
	if _, err := t.New(name).Parse(s.text); err != nil {
		return nil, fmt.Errorf("templates: parse %s: %w", s.origin, err)
	}
	return t, nil
}

// parseOutcome parses o's two files on copies of the shared templates.
func (r *Replies) parseOutcome(o rules.Outcome, files map[string]source, textBase *texttemplate.Template, htmlBase *htmltemplate.Template) error {
	tt, err := textBase.Clone()
	if err != nil {
		return fmt.Errorf("templates: copy shared text templates: %w", err)
	}
	if tt, err = parseText(tt, files[textFile(o)], textFile(o)); err != nil {
		return err
	}
	ht, err := htmlBase.Clone()
	if err != nil {
		return fmt.Errorf("templates: copy shared HTML templates: %w", err)
	}
	if ht, err = parseHTML(ht, files[htmlFile(o)], htmlFile(o)); err != nil {
		return err
	}
	r.text[o], r.html[o] = tt, ht
	return nil
}

// tryOutcome renders o's templates against sample data, a full one and a
// minimal one, so that both sides of a template's conditions run once.
func (r *Replies) tryOutcome(o rules.Outcome, files map[string]source) error {
	textFileOf := func(name string) string {
		if t := r.text[o].Lookup(name); t != nil && t.Tree != nil {
			return t.Tree.ParseName
		}
		return ""
	}
	htmlFileOf := func(name string) string {
		if t := r.html[o].Lookup(name); t != nil && t.Tree != nil {
			return t.Tree.ParseName
		}
		return ""
	}
	for _, data := range sampleData(o) {
		var tb, hb bytes.Buffer
		if err := r.text[o].ExecuteTemplate(&tb, textFile(o), data); err != nil {
			return renderError(o, err, files, textFile(o), textFileOf)
		}
		if strings.TrimSpace(tb.String()) == "" {
			return fmt.Errorf("templates: %s renders an empty text", files[textFile(o)].origin)
		}
		if err := r.html[o].ExecuteTemplate(&hb, htmlFile(o), data); err != nil {
			return renderError(o, err, files, htmlFile(o), htmlFileOf)
		}
		if strings.TrimSpace(hb.String()) == "" {
			return fmt.Errorf("templates: %s renders an empty text", files[htmlFile(o)].origin)
		}
	}
	return nil
}

// renderError blames the file that defines the template where rendering
// o's reply failed: a shared file when the error is in one of its
// templates, o's own file otherwise. fileOf maps a template name to the
// file it was parsed from.
func renderError(o rules.Outcome, err error, files map[string]source, own string, fileOf func(string) string) error {
	var name string
	var execErr texttemplate.ExecError
	var escErr *htmltemplate.Error
	switch {
	case errors.As(err, &execErr):
		name = execErr.Name
	case errors.As(err, &escErr):
		name = escErr.Name
	}
	name, _, _ = strings.Cut(name, "$") // html/template's contextual copies
	file := own
	if f := fileOf(name); f != "" {
		if _, ok := files[f]; ok {
			file = f
		}
	}
	if file != own {
		return fmt.Errorf("templates: %s does not render (called by %s, reply %s): %w", files[file].origin, own, o, err)
	}
	if files[file].embedded() {
		// The embedded templates render together; the fault is in an
		// override they call, e.g. a shared piece ending inside a tag.
		return fmt.Errorf("templates: %s does not render with the overridden %s: %w", files[file].origin, strings.Join(overridden(files, own), ", "), err)
	}
	return fmt.Errorf("templates: %s does not render: %w", files[file].origin, err)
}

// overridden returns the override paths of the files in the same format as
// name (text or HTML).
func overridden(files map[string]source, name string) []string {
	ext := path.Ext(strings.TrimSuffix(name, ".tmpl")) + ".tmpl"
	var out []string
	for _, n := range knownNames(files) {
		if strings.HasSuffix(n, ext) && !files[n].embedded() {
			out = append(out, files[n].origin)
		}
	}
	return out
}

// funcs are the functions reply templates may call besides the built-in
// ones.
func funcs() map[string]any {
	return map[string]any{
		// join concatenates a list: {{join .Mentions ", "}}.
		"join": strings.Join,
	}
}
