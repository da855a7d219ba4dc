package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cpam/attestd/rules"
)

// RegistryFormat is the format string a registry file must carry.
const RegistryFormat = "attestd-registry/1"

// Registry is the insured data the rules need: organismes and comptes. Each
// compte carries a copy of its organisme.
type Registry struct {
	Organismes []rules.Organisme
	Comptes    []rules.Compte
}

// The JSON shapes of the attestd-registry/1 format. Unknown fields are
// refused: a misspelt "adresse_npia" silently ignored would send attestations
// to an address known to be wrong.

type organismeJSON struct {
	Code    string   `json:"code"`
	Regime  string   `json:"regime"`
	Caisse  string   `json:"caisse"`
	Centre  string   `json:"centre"`
	Libelle string   `json:"libelle"`
	Adresse []string `json:"adresse"`
}

type compteJSON struct {
	ID            string            `json:"id"`
	Email         string            `json:"email"`
	Organisme     string            `json:"organisme"`
	Adresse       *adresseJSON      `json:"adresse"`
	NPAI          bool              `json:"adresse_npai"`
	Beneficiaires []beneficiaryJSON `json:"beneficiaires"`
}

type adresseJSON struct {
	Lignes     []string `json:"lignes"`
	CodePostal string   `json:"code_postal"`
	Commune    string   `json:"commune"`
}

type beneficiaryJSON struct {
	NIR           string        `json:"nir"`
	NomFamille    string        `json:"nom_famille"`
	NomUsage      string        `json:"nom_usage"`
	Prenom        string        `json:"prenom"`
	DateNaissance string        `json:"date_naissance"`
	Rang          int           `json:"rang_naissance"`
	Qualite       string        `json:"qualite"`
	Droits        []periodJSON  `json:"droits"`
	Exonerations  []exoneration `json:"exonerations"`
	C2S           []periodJSON  `json:"c2s"`
}

type periodJSON struct {
	Debut string  `json:"date_debut"`
	Fin   *string `json:"date_fin"` // null: no known end
}

type exoneration struct {
	Motif string  `json:"motif"`
	Debut string  `json:"date_debut"`
	Fin   *string `json:"date_fin"`
}

// ParseRegistry reads a registry file in the attestd-registry/1 format
// (SPEC section 10) and validates all of it. When anything is wrong it
// returns no registry and a ValidationErrors listing every problem found,
// each naming the line, the compte and the field. Malformed JSON stops the
// reading at the first syntax error, reported with its line and column.
func ParseRegistry(r io.Reader) (*Registry, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("store: read registry: %w", err)
	}
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), v: newValidator()}
	p.dec.DisallowUnknownFields()
	// A syntax check of the whole input first: it locates a syntax error by
	// its offset from the start (the Decoder's offsets count otherwise).
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		p.jsonError(err)
		return nil, p.v.err()
	}
	reg, lines := p.file()
	if !p.fatal {
		p.v.registry(reg, lines)
	}
	if err := p.v.err(); err != nil {
		return nil, err
	}
	orgs := map[string]rules.Organisme{}
	for _, o := range reg.Organismes {
		orgs[o.Code] = o
	}
	for i := range reg.Comptes {
		o := orgs[reg.Comptes[i].Organisme.Code]
		o.Adresse = appendAll(nil, o.Adresse)
		reg.Comptes[i].Organisme = o
	}
	return reg, nil
}

// recordLines are the lines where each organisme and compte starts, by index.
type recordLines struct {
	organismes, comptes []int
}

// parser walks the top level of a registry file token by token, so that each
// record is decoded on its own and its problems carry its line.
type parser struct {
	data  []byte
	dec   *json.Decoder
	v     *validator
	fatal bool // malformed JSON: stop reading
}

// file reads the whole file. Problems go to p.v.
func (p *parser) file() (*Registry, recordLines) {
	reg := &Registry{}
	var lines recordLines
	if !p.delim('{', "the file must be one JSON object") {
		return reg, lines
	}
	var format *string
	for !p.fatal && p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			p.jsonError(err)
			break
		}
		key, _ := tok.(string)
		line := p.line()
		switch key {
		case "format":
			var s string
			if p.record(&s, "format", line) {
				format = &s
			}
		case "note":
			var skip json.RawMessage
			p.record(&skip, "note", line)
		case "organismes":
			p.array("organismes", func(i, line int) {
				var o organismeJSON
				if p.record(&o, fmt.Sprintf("organismes[%d]", i), line) {
					reg.Organismes = append(reg.Organismes, o.organisme())
					lines.organismes = append(lines.organismes, line)
				}
			})
		case "comptes":
			p.array("comptes", func(i, line int) {
				var c compteJSON
				if p.record(&c, fmt.Sprintf("comptes[%d]", i), line) {
					reg.Comptes = append(reg.Comptes, p.compte(&c, i, line))
					lines.comptes = append(lines.comptes, line)
				}
			})
		default:
			field, _ := safeField(key)
			p.v.add(&ValidationError{Field: field, Problem: "unknown field", Line: line})
			var skip json.RawMessage
			p.record(&skip, key, line)
		}
	}
	if p.fatal {
		return reg, lines
	}
	if !p.delim('}', "the registry object is not closed") {
		return reg, lines
	}
	if _, err := p.dec.Token(); err != io.EOF {
		p.v.add(&ValidationError{Problem: "malformed JSON: unexpected data after the registry object", Line: p.line()})
	}
	switch {
	case format == nil:
		p.v.add(&ValidationError{Field: "format", Problem: fmt.Sprintf("missing: want %q", RegistryFormat), Line: 1})
	case *format != RegistryFormat:
		p.v.add(&ValidationError{Field: "format", Problem: fmt.Sprintf("unsupported format: want %q", RegistryFormat), Line: 1})
	}
	return reg, lines
}

// delim reads the next token and checks it is the delimiter d.
func (p *parser) delim(d json.Delim, problem string) bool {
	tok, err := p.dec.Token()
	if err != nil {
		p.jsonError(err)
		return false
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		p.v.add(&ValidationError{Problem: "malformed registry: " + problem, Line: p.line()})
		p.fatal = true
		return false
	}
	return true
}

// array reads a JSON array of records, calling each with the index and line
// of every element. A null stands for an empty array.
func (p *parser) array(field string, each func(i, line int)) {
	if bytes.HasPrefix(p.rest(), []byte("null")) {
		var skip json.RawMessage
		p.record(&skip, field, p.line())
		return
	}
	if !p.delim('[', field+" must be an array") {
		return
	}
	for i := 0; !p.fatal && p.dec.More(); i++ {
		each(i, p.line())
	}
	if !p.fatal {
		p.delim(']', field+" is not closed")
	}
}

// record decodes the next value into v, strictly (no unknown field). It
// reports false, with the problem recorded, when the value does not fit v.
// When the value is a compte with an id, problems name the compte.
func (p *parser) record(v any, field string, line int) bool {
	base := int64(len(p.data) - len(p.rest()))
	var raw json.RawMessage
	if err := p.dec.Decode(&raw); err != nil {
		p.jsonError(err)
		return false
	}
	compteID := ""
	if _, ok := v.(*compteJSON); ok {
		var probe struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(raw, &probe) == nil {
			compteID, _ = probe.ID.(string)
		}
		if !validCompteID(compteID) {
			compteID = "" // never printed: the validator says what is wrong with it
		}
		if compteID != "" {
			field = ""
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		f := field
		if typeErr.Field != "" {
			f = strings.TrimPrefix(f+"."+typeErr.Field, ".")
		}
		l, _ := lineCol(p.data, base+typeErr.Offset)
		// Value is "string", "number 1840575…": only its kind is said.
		kind, _, _ := strings.Cut(typeErr.Value, " ")
		p.v.add(&ValidationError{CompteID: compteID, Field: f,
			Problem: fmt.Sprintf("wrong type: want a JSON %s, got a %s", jsonKind(typeErr.Type.Kind().String()), kind), Line: l})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The rest of the record was decoded: go on checking it.
		problem := "unknown field"
		if key, err := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field ")); err == nil {
			if name, ok := safeField(key); ok {
				problem += " " + strconv.Quote(name)
			}
		}
		p.v.add(&ValidationError{CompteID: compteID, Field: field, Problem: problem, Line: line})
		return true
	default:
		p.v.add(&ValidationError{CompteID: compteID, Field: field, Problem: "malformed value", Line: line})
	}
	return false
}

// jsonError records a syntax error (or a truncated file) and stops reading.
func (p *parser) jsonError(err error) {
	p.fatal = true
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read up to and including the bad one. It
		// is from the start of the input only for a whole-input check such
		// as json.Unmarshal's, which ParseRegistry runs first.
		at, problem := syntax.Offset-1, "malformed JSON: "+syntax.Error()
		if syntax.Offset >= int64(len(p.data)) {
			at, problem = int64(len(p.data)), "malformed JSON: the file ends before the registry is complete"
		}
		line, col := lineCol(p.data, at)
		p.v.add(&ValidationError{Problem: problem, Line: line, Column: col})
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(p.data, int64(len(p.data)))
		p.v.add(&ValidationError{Problem: "malformed JSON: the file ends before the registry is complete", Line: line, Column: col})
	default:
		line, _ := lineCol(p.data, p.dec.InputOffset())
		p.v.add(&ValidationError{Problem: "malformed JSON: " + err.Error(), Line: line})
	}
}

// rest is the input from the start of the next value: after the decoder's
// offset, past blanks, commas and colons.
func (p *parser) rest() []byte {
	rest := p.data[min(int(p.dec.InputOffset()), len(p.data)):]
	return bytes.TrimLeft(rest, " \t\r\n,:")
}

// line is the line of the next value.
func (p *parser) line() int {
	line, _ := lineCol(p.data, int64(len(p.data)-len(p.rest())))
	return line
}

// jsonKind names a Go kind as the JSON type a user would write.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice":
		return "array"
	case kind == "struct", kind == "map", kind == "ptr":
		return "object"
	case kind == "bool":
		return "boolean (true or false)"
	}
	return kind
}

func (o *organismeJSON) organisme() rules.Organisme {
	return rules.Organisme{Code: o.Code, Regime: o.Regime, Caisse: o.Caisse, Centre: o.Centre,
		Libelle: o.Libelle, Adresse: appendAll(nil, o.Adresse)}
}

// compte maps a decoded compte to the rules types. Its organisme is filled in
// later, once every organisme is known. Dates that do not parse are recorded
// as problems here and left zero.
func (p *parser) compte(c *compteJSON, index, line int) rules.Compte {
	out := rules.Compte{ID: c.ID, Email: c.Email, Organisme: rules.Organisme{Code: c.Organisme}, NPAI: c.NPAI}
	if c.Adresse != nil {
		out.Adresse = &rules.Address{Lignes: appendAll(nil, c.Adresse.Lignes),
			CodePostal: c.Adresse.CodePostal, Commune: c.Adresse.Commune}
	}
	id, prefix := c.ID, ""
	if !validCompteID(id) {
		id, prefix = "", fmt.Sprintf("comptes[%d].", index)
	}
	date := func(field, s string) rules.Date {
		field = prefix + field
		if s == "" {
			return rules.Date{} // "missing", said by the validator
		}
		d, err := rules.ParseDate(s)
		if err != nil {
			// The value is not quoted: it may be a date of birth.
			p.v.add(&ValidationError{CompteID: id, Field: field, Problem: "not a date: want YYYY-MM-DD", Line: line})
		}
		return d
	}
	period := func(field, debut string, fin *string) rules.Period {
		per := rules.Period{Start: date(field+".date_debut", debut)}
		if fin != nil {
			if *fin == "" {
				p.v.add(&ValidationError{CompteID: id, Field: prefix + field + ".date_fin", Problem: "empty: write null for no known end", Line: line})
			} else {
				per.End = date(field+".date_fin", *fin)
			}
		}
		return per
	}
	for i, b := range c.Beneficiaires {
		f := fmt.Sprintf("beneficiaires[%d]", i)
		nb := rules.Beneficiary{NIR: b.NIR, NomFamille: b.NomFamille, NomUsage: b.NomUsage, Prenom: b.Prenom,
			DateNaissance: date(f+".date_naissance", b.DateNaissance), Rang: b.Rang, Qualite: rules.Qualite(b.Qualite)}
		if n, err := rules.CheckNIR(b.NIR); err == nil {
			nb.NIR = n
		}
		for j, d := range b.Droits {
			nb.Droits = append(nb.Droits, period(fmt.Sprintf("%s.droits[%d]", f, j), d.Debut, d.Fin))
		}
		for j, e := range b.Exonerations {
			nb.ETM = append(nb.ETM, rules.Exoneration{Motif: e.Motif,
				Period: period(fmt.Sprintf("%s.exonerations[%d]", f, j), e.Debut, e.Fin)})
		}
		for j, d := range b.C2S {
			nb.C2S = append(nb.C2S, period(fmt.Sprintf("%s.c2s[%d]", f, j), d.Debut, d.Fin))
		}
		out.Beneficiaries = append(out.Beneficiaries, nb)
	}
	return out
}

// appendAll appends src to dst, keeping dst nil when src is empty, so that a
// registry read back from the database deep-equals the parsed one.
func appendAll(dst, src []string) []string {
	for _, s := range src {
		dst = append(dst, s)
	}
	return dst
}
