package inbox

import (
	"regexp"
	"strings"
)

// splitText separates the author's own words from what follows them in a
// mail body (SPEC section 3):
//
//   - quoted lines ("> …") are left out;
//   - everything from a reply header on is quoted history and left out:
//     "Le … a écrit :" (also wrapped on two lines), "On … wrote:",
//     "-----Message d'origine-----", "-----Original Message-----", and
//     Outlook header blocks ("De : … / Envoyé : … / À : … / Objet : …",
//     "From: … Sent: … To: … Subject: …");
//   - the signature after a line "-- " (or "--", or "Envoyé de mon
//     iPhone") is left out;
//   - a forwarded block ("---------- Message transféré ----------",
//     "---------- Forwarded message ---------", "Début du message
//     réexpédié :") is not history: the text after its header lines
//     becomes a Forwarded entry, itself split the same way.
//
// forwards is how many forwarded blocks may still nest; at zero a forward
// marker ends the text like history. When forwardHint is set (the subject
// says "TR:" or "Fwd:"), an Outlook header block or "Original Message" line
// opens a forwarded block instead of history: Outlook writes both the same.
func splitText(text string, forwards int, forwardHint bool) (own string, fwds []Forwarded) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var kept []string
	signature := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		t := strings.TrimSpace(line)
		f := foldMarker(t)
		forward := isForwardMarker(f)
		history := !forward && isHistoryStart(lines, i)
		if history && forwardHint && len(fwds) == 0 && !strings.HasPrefix(t, ">") && isOutlookStart(lines, i) {
			forward, history = true, false
		}
		switch {
		case forward:
			if forwards > 0 {
				fwds = append(fwds, readForwardBlock(lines[i:], forwards-1)...)
			}
			return joinLines(kept), fwds
		case signature:
		case history:
			return joinLines(kept), fwds
		case strings.HasPrefix(t, ">"):
		case isSignatureStart(line, f):
			signature = true
		default:
			kept = append(kept, line)
		}
	}
	return joinLines(kept), fwds
}

// foldMarker folds a trimmed line for the marker tests: no accents, lower
// case, Markdown emphasis and the dashes, underscores and stars that frame
// markers removed at both ends.
func foldMarker(t string) string {
	return strings.Trim(Fold(t), "-_=*~ \t")
}

var forwardMarkers = regexp.MustCompile(`^(?:message transfere|message transmis|forwarded message|begin forwarded message|debut du message reexpedie|debut du message transfere|message reexpedie)\s*:?$`)

func isForwardMarker(f string) bool { return forwardMarkers.MatchString(f) }

var (
	originalMarker = regexp.MustCompile(`^(?:message d'origine|original message|message original|reponse d'origine|courriel d'origine|mail d'origine)\s*:?$`)
	wroteEnd       = regexp.MustCompile(`(?:a ecrit|wrote)\s*:?\s*$`)
	wroteStart     = regexp.MustCompile(`^(?:le |on |el |am )`)
	headerLine     = regexp.MustCompile(`^(?:de|from|date|envoye|envoye le|sent|a|to|cc|cci|bcc|objet|sujet|pour|subject|reply-to|repondre a|expediteur|destinataire)\s*:`)
	underscores    = regexp.MustCompile(`^_{8,}$`)
)

// isHistoryStart reports whether lines[i] opens the quoted history.
func isHistoryStart(lines []string, i int) bool {
	t := strings.TrimSpace(lines[i])
	f := foldMarker(t)
	if originalMarker.MatchString(f) {
		return true
	}
	if wroteStart.MatchString(f) {
		if wroteEnd.MatchString(f) {
			return true
		}
		// Gmail wraps "Le mar. 24 nov. 2026 à 10:02, Nom <adresse>" and
		// "a écrit :" on two lines.
		if i+1 < len(lines) && len(f) < 200 {
			next := Fold(strings.TrimSpace(lines[i+1]))
			if strings.HasPrefix(next, "a ecrit") || strings.HasPrefix(next, "wrote") ||
				(wroteEnd.MatchString(next) && len(next) < 120 && strings.Contains(f+next, "@")) {
				return true
			}
		}
	}
	return isOutlookStart(lines, i)
}

// isOutlookStart reports whether lines[i] opens an Outlook header block:
// an underscore rule or a "De :"/"From:" line, followed by at least one
// more header line among the next few.
func isOutlookStart(lines []string, i int) bool {
	f := foldMarker(strings.TrimSpace(lines[i]))
	if originalMarker.MatchString(f) {
		return true
	}
	start := i
	if underscores.MatchString(strings.TrimSpace(lines[i])) {
		start = nextNonBlank(lines, i+1)
		if start < 0 {
			return false
		}
		f = foldMarker(strings.TrimSpace(lines[start]))
	}
	if !strings.HasPrefix(f, "de") && !strings.HasPrefix(f, "from") || !headerLine.MatchString(f) {
		return false
	}
	for k := start + 1; k < len(lines) && k <= start+5; k++ {
		g := foldMarker(strings.TrimSpace(lines[k]))
		if headerLine.MatchString(g) {
			return true
		}
	}
	return false
}

var forwardPrefix = regexp.MustCompile(`^(?:tr|fw|fwd|transf|wg)\s*(?:\[\d+\])?\s*:`)

// isForwardSubject reports whether a subject says its message forwards
// another one: "TR: …", "Fwd: …", "TR: RE: …". "RE: TR: …" is a reply: what
// it quotes is history.
func isForwardSubject(subject string) bool {
	return forwardPrefix.MatchString(Fold(strings.TrimSpace(subject)))
}

var mobileFooter = regexp.MustCompile(`^(?:envoye (?:de|depuis) mon|envoye depuis|sent from my|obtenir outlook pour)`)

// isSignatureStart reports whether a line is the signature delimiter "-- "
// (also written "--") or a mobile client's footer.
func isSignatureStart(line, f string) bool {
	if r := strings.TrimRight(line, " \t"); r == "--" || r == "-- " {
		return true
	}
	return mobileFooter.MatchString(f)
}

// readForwardBlock reads a forwarded block: lines[0] is its marker, header
// lines follow ("De : …", "Objet : …"), then the forwarded text.
func readForwardBlock(lines []string, forwards int) []Forwarded {
	var f Forwarded
	first := strings.TrimSpace(lines[0])
	i := 1 // after a marker line or an underscore rule
	if m := foldMarker(first); !isForwardMarker(m) && !originalMarker.MatchString(m) && !underscores.MatchString(first) {
		i = 0 // an Outlook block opened by its "De :" line
	}
	for ; i < len(lines); i++ {
		t := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(lines[i]), ">"))
		if t == "" {
			if f.From != "" || f.Subject != "" {
				i++
				break
			}
			continue
		}
		g := foldMarker(t)
		if !headerLine.MatchString(g) {
			break
		}
		_, value, _ := strings.Cut(t, ":")
		value = strings.Trim(strings.TrimSpace(value), "*")
		switch key, _, _ := strings.Cut(g, ":"); strings.TrimSpace(key) {
		case "de", "from", "expediteur":
			f.From = oneLine(strings.TrimSpace(value), 300)
		case "objet", "sujet", "subject":
			f.Subject = oneLine(strings.TrimSpace(value), maxSubjectRunes)
		}
	}
	body := unquoteOnce(lines[min(i, len(lines)):])
	own, nested := splitText(strings.Join(body, "\n"), forwards, false)
	f.Text = own
	return append([]Forwarded{f}, nested...)
}

// unquoteOnce removes one level of "> " when every non-blank line is quoted
// (a forwarded message that the client quoted as a whole).
func unquoteOnce(lines []string) []string {
	quoted := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if !strings.HasPrefix(t, ">") {
			return lines
		}
		quoted = true
	}
	if !quoted {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t")
		t = strings.TrimPrefix(t, ">")
		out[i] = strings.TrimPrefix(t, " ")
	}
	return out
}

func nextNonBlank(lines []string, i int) int {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return i
		}
	}
	return -1
}

// joinLines joins kept lines, trimming blank lines at both ends and
// collapsing runs of blank lines.
func joinLines(lines []string) string {
	var out []string
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if strings.TrimSpace(l) == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
