package acceptance

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cpam/attestd/samples"
)

// Case is one request to deliver and what must become of it.
type Case struct {
	// Name is the request's file name, e.g. "01-eva-simple.eml".
	Name string
	// Raw is the request as read from its file.
	Raw []byte
	// Want is the case's entry of expected.json.
	Want samples.Case
}

// Cases is a set of cases with the settings of their expected.json.
type Cases struct {
	// Expected is expected.json: today, service address, trust settings and
	// the cases by file name.
	Expected *samples.Expected
	// List holds the cases in file-name order.
	List []Case
}

// SampleCases returns the samples embedded in attestd (samples/requests).
func SampleCases() *Cases {
	c, err := casesOf(samples.Requests(), samples.ExpectedCases())
	if err != nil {
		panic(err) // embedded data, checked by this package's tests
	}
	return c
}

// LoadCases reads the .eml files of dir and dir/expected.json. Every request
// must have its case in expected.json and every case its request.
func LoadCases(dir string) (*Cases, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cases %s: %w", dir, err)
	}
	// samples.ReadRequests joins dir and name with "/": give it a real name.
	parent, base := filepath.Dir(abs), filepath.Base(abs)
	reqs, err := samples.ReadRequests(os.DirFS(parent), base)
	if err != nil {
		return nil, fmt.Errorf("cases %s: %w", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(abs, "expected.json"))
	if err != nil {
		return nil, fmt.Errorf("cases %s: %w (each directory of cases needs its expected.json, in the format of samples/requests)", dir, err)
	}
	exp, err := samples.ParseExpected(b)
	if err != nil {
		return nil, fmt.Errorf("cases %s: %w", dir, err)
	}
	c, err := casesOf(reqs, exp)
	if err != nil {
		return nil, fmt.Errorf("cases %s: %w", dir, err)
	}
	return c, nil
}

func casesOf(reqs []samples.Request, exp *samples.Expected) (*Cases, error) {
	out := &Cases{Expected: exp}
	seen := map[string]bool{}
	var problems []string
	for _, r := range reqs {
		want, ok := exp.Cases[r.Name]
		if !ok {
			problems = append(problems, r.Name+" has no case in expected.json")
			continue
		}
		seen[r.Name] = true
		if p := checkCase(want); p != "" {
			problems = append(problems, r.Name+": "+p)
			continue
		}
		out.List = append(out.List, Case{Name: r.Name, Raw: r.Raw, Want: want})
	}
	for name := range exp.Cases {
		if !seen[name] {
			problems = append(problems, "expected.json names "+name+", which is not in the directory")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	if len(out.List) == 0 {
		return nil, fmt.Errorf("no .eml request to run")
	}
	return out, nil
}

// checkCase names what makes a case impossible to check, or "".
func checkCase(c samples.Case) string {
	switch {
	case c.Outcome == "":
		return "no outcome"
	case c.Folder == "":
		return "no folder"
	case c.ReplyTo != nil && *c.ReplyTo == "":
		return `reply_to is "": write null for no reply`
	}
	return ""
}

// NoteHeader is the header [Stamp] adds to a request: the run, the case and
// the request's original Message-ID.
const NoteHeader = "X-Attestd-Acceptance"

// messageIDLine matches a Message-ID header field and its continuation lines.
var messageIDLine = regexp.MustCompile(`(?im)^message-id[ \t]*:.*(\r?\n[ \t].*)*\r?\n`)

// Stamp gives raw a Message-ID unique to the run and returns the new message
// and that Message-ID (without angle brackets). Only the message's own
// header changes: forwarded messages inside keep theirs. The original
// Message-ID is kept in the NoteHeader header; a request without one gets
// one.
func Stamp(raw []byte, runID, caseName string) ([]byte, string) {
	headerEnd := headerLen(raw)
	eol := "\n"
	if i := bytes.IndexByte(raw, '\n'); i > 0 && raw[i-1] == '\r' {
		eol = "\r\n"
	}
	header := raw[:headerEnd]
	loc := messageIDLine.FindIndex(header)
	original, local, domain := "", "acceptance", "attestd.invalid"
	if loc != nil {
		field := string(header[loc[0]:loc[1]])
		original = strings.Join(strings.Fields(field[strings.IndexByte(field, ':')+1:]), "")
		if l, d, ok := strings.Cut(strings.Trim(original, "<>"), "@"); ok && l != "" && d != "" {
			local, domain = l, d
		}
	} else {
		loc = []int{0, 0}
	}
	id := local + ".acc-" + runID + "@" + domain
	note := "run=" + runID + "; case=" + caseName
	if original != "" {
		note += "; original=" + original
	}
	var b bytes.Buffer
	b.Grow(len(raw) + 200)
	b.Write(raw[:loc[0]])
	b.WriteString("Message-ID: <" + id + ">" + eol)
	b.WriteString(NoteHeader + ": " + note + eol)
	b.Write(raw[loc[1]:])
	return b.Bytes(), id
}

// headerLen is the length of raw's header section, up to and without the
// blank line that ends it.
func headerLen(raw []byte) int {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			break
		}
		if line := raw[i : i+j]; len(line) == 0 || string(line) == "\r" {
			return i
		}
		i += j + 1
	}
	return len(raw)
}
