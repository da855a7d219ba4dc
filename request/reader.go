package request

import (
	"regexp"
	"strings"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/rules"
)

// FoundNIR is a NIR-looking sequence of a request, written with or without
// spaces, dots or dashes.
type FoundNIR struct {
	// Normalized is the NIR without separators, 2A/2B in capitals: 15
	// characters, or 13 when the key is missing.
	Normalized string
	// Valid is set when the NIR has its 15 characters and its key checks.
	// A NIR that is not valid is never looked up (nir_invalid).
	Valid bool
}

// Author is what the author of a request says about himself: "Je suis
// Thomas Rousseau, né le 30/04/1981", a signature "Cordialement, Benoît
// Peigne", "mon numéro de sécurité sociale est …". It tells apart the
// comptes that share an address (SPEC section 2); it is not a beneficiary.
type Author struct {
	// FirstNames are the name words the author signs with, in capitals as
	// written ("THOMAS", "ROUSSEAU"): first and family names cannot be told
	// apart, so compare each with rules.FoldName.
	FirstNames []string
	Birth      rules.Date
	NIR        string // normalized, as in FoundNIR
}

// Reading is what a request asks, read from its French text.
type Reading struct {
	// Attestation is set when the request asks for an attestation de
	// droits (or a synonym: attestation d'assurance maladie, de sécurité
	// sociale, "attestation sécu", "attestation CPAM", "attestation carte
	// Vitale"...). A plain "attestation" counts too, unless another kind of
	// document is named.
	Attestation bool
	// OtherDocument is set when the request asks for another document: an
	// attestation de paiement des indemnités journalières, de salaire, la
	// CEAM, a relevé de remboursements... Such a request is not_attestation
	// even when Attestation is also set: the agents answer it.
	OtherDocument bool
	// Request holds the beneficiaries and mentions asked, for rules.Decide.
	// No target and no Family means the author himself.
	Request rules.Request
	// NIRs are every NIR-looking sequence of the subject and text.
	NIRs []FoundNIR
	// Author is what the author says about himself.
	Author Author
}

// IsRequest reports whether the reading is an attestation de droits
// request to decide on; otherwise it is not_attestation.
func (r Reading) IsRequest() bool { return r.Attestation && !r.OtherDocument }

// ReadOptions are what Read may know beyond the text. Nil means none.
type ReadOptions struct {
	// Known is a list of first names, as the registry spells them, of the
	// beneficiaries of the candidate comptes: a known name is recognised
	// anywhere in the text, in any case, with or without accents, "Marie
	// Ange" for "MARIE-ANGE". Other names are recognised by their context:
	// "mon fils Hugo", "pour Hugo", "ma fille Zoé", "Léa et Lucas", "LUCAS
	// 02/03/2015".
	Known []string
	// Today is the day the request is read. A date written with a
	// two-digit year ("02/03/15", "le 2 mars 15") is read in the century
	// that puts it on or before Today: in 2026, "15" is 2015 and "30" is
	// 1930 (dates of birth are in the past). Zero: 00-49 are read as
	// 20xx, 50-99 as 19xx.
	Today rules.Date
}

func (o *ReadOptions) known() []string {
	if o == nil {
		return nil
	}
	return o.Known
}

func (o *ReadOptions) today() rules.Date {
	if o == nil {
		return rules.Date{}
	}
	return o.Today
}

// Read reads a request's subject and the author's own text (quoted history
// and signature already removed, see ParseMessage).
//
// Read is a pure function of its arguments; it looks at no more than
// 256 KiB of each text.
func Read(subject, text string, o *ReadOptions) Reading {
	subj, body := tokenize(subject, o.today()), tokenize(text, o.today())
	kn := newKnownNames(o.known())
	var r Reading
	r.NIRs = appendNIRs(appendNIRs(nil, subj), body)

	used := make([]bool, len(body))
	r.Author = readAuthor(body, used, kn)

	si, bi := readIntent(subj), readIntent(body)
	st, bt := scanTargets(subj, nil, kn), scanTargets(body, used, kn)
	sm, bm := readMentions(subj), readMentions(body)

	r.Request = mergeTargets(st, bt)
	r.Request.ETM, r.Request.C2S = sm.etm || bm.etm, sm.c2s || bm.c2s
	r.Request.NIRs = validNIRs(r.NIRs)
	r.OtherDocument = si.other || bi.other
	explicit := si.add || bi.add
	bare := si.bare || bi.bare
	r.Attestation = explicit || bare && !r.OtherDocument

	// A reply whose subject is ours ("Re: Votre attestation de droits")
	// asks again only when its text says something about the request:
	// "Finalement c'est pour Lucas seulement" does, "Merci !" does not.
	if r.Attestation && !bi.any() && isReplySubject(subject) && !bt.asksSomething() && !bm.any() {
		r.Attestation = false
	}
	return r
}

// ReadMessage reads a parsed message: its subject and own text, and each
// forwarded message with its own subject. What they ask is put together;
// the Author is the one of the own text, or else of the first forwarded
// message that says something about its author (an agent forwarding an
// insured's mail signs for nobody).
func ReadMessage(m *inbox.Message, o *ReadOptions) Reading {
	r := Read(m.Subject, m.Text, o)
	for _, f := range m.Forwarded {
		fr := Read(f.Subject, f.Text, o)
		r.Attestation = r.Attestation || fr.Attestation
		r.OtherDocument = r.OtherDocument || fr.OtherDocument
		r.Request = mergeRequests(r.Request, fr.Request)
		for _, n := range fr.NIRs {
			r.NIRs = addNIR(r.NIRs, n)
		}
		if r.Author.empty() {
			r.Author = fr.Author
		}
	}
	r.Request.NIRs = validNIRs(r.NIRs)
	return r
}

// validNIRs are the NIRs of list whose key checks: they designate a
// person (rules.Request.NIRs).
func validNIRs(list []FoundNIR) []string {
	var out []string
	for _, n := range list {
		if n.Valid {
			out = append(out, n.Normalized)
		}
	}
	return out
}

func (a Author) empty() bool { return len(a.FirstNames) == 0 && a.Birth.IsZero() && a.NIR == "" }

var replyPrefix = regexp.MustCompile(`^\s*(?:re|aw|sv|rep|reponse)\s*(?:\[\d+\])?\s*:`)

func isReplySubject(s string) bool { return replyPrefix.MatchString(fold(s)) }

func appendNIRs(out []FoundNIR, toks []token) []FoundNIR {
	for _, t := range toks {
		if t.kind == tNIR {
			out = addNIR(out, t.nir)
		}
	}
	return out
}

func addNIR(list []FoundNIR, n FoundNIR) []FoundNIR {
	for _, m := range list {
		if m.Normalized == n.Normalized {
			return list
		}
	}
	return append(list, n)
}

// knownNames are the first names the caller expects, split in folded words.
type knownNames struct {
	names []knownName
}

type knownName struct {
	orig  string
	parts []string
}

func newKnownNames(list []string) knownNames {
	var k knownNames
	for _, n := range list {
		parts := strings.Fields(strings.ToLower(rules.FoldName(n)))
		if len(parts) == 0 || len(parts) > 4 {
			continue
		}
		dup := false
		for _, e := range k.names {
			if strings.Join(e.parts, " ") == strings.Join(parts, " ") {
				dup = true
			}
		}
		if !dup {
			k.names = append(k.names, knownName{orig: n, parts: parts})
		}
	}
	// Longest first: "MARIE-ANGE" before "MARIE".
	for i := 1; i < len(k.names); i++ {
		for j := i; j > 0 && len(k.names[j].parts) > len(k.names[j-1].parts); j-- {
			k.names[j], k.names[j-1] = k.names[j-1], k.names[j]
		}
	}
	return k
}

// match returns the known name written at toks[i] and how many tokens it
// takes, or 0.
func (k knownNames) match(toks []token, i int) (string, int) {
	for _, n := range k.names {
		if i+len(n.parts) > len(toks) {
			continue
		}
		ok := true
		for j, p := range n.parts {
			t := toks[i+j]
			if t.kind != tWord || t.f != p || j > 0 && t.sep != "-" && t.sep != " " && t.sep != "'" {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		t := toks[i]
		if len(n.parts) == 1 && !t.cap && notNames.has(t.f) {
			continue // a common word that happens to be a first name
		}
		return n.orig, len(n.parts)
	}
	return "", 0
}
