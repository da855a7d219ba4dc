// Package samples holds the demo and test data, embedded in the binary: the
// sample registry (attestd-registry/1), the sample requests as they arrive
// in the service mailbox, and expected.json, the outcome each request must
// get. Every person in them is fictitious.
package samples

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

//go:embed registry.json requests/*.eml requests/expected.json
var files embed.FS

// Registry returns the sample registry file.
func Registry() []byte {
	b, err := files.ReadFile("registry.json")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	return b
}

// Request is one sample request.
type Request struct {
	Name string // file name, e.g. "01-eva-simple.eml"
	Raw  []byte
}

// Requests returns the sample requests in file-name order.
func Requests() []Request {
	return readRequests(files, "requests")
}

// ReadRequests reads every .eml file of a directory, in file-name order.
func ReadRequests(fsys fs.FS, dir string) ([]Request, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Request
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Request{Name: e.Name(), Raw: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readRequests(fsys fs.FS, dir string) []Request {
	out, err := ReadRequests(fsys, dir)
	if err != nil {
		panic(err)
	}
	return out
}

// Expected is requests/expected.json.
type Expected struct {
	Today             string          `json:"today"`
	ServiceAddress    string          `json:"service_address"`
	TrustedAuthservID string          `json:"trusted_authserv_id"`
	AgentDomains      []string        `json:"agent_domains"`
	GatewayDomain     string          `json:"gateway_domain"`
	GatewayHeader     string          `json:"gateway_header"`
	Cases             map[string]Case `json:"cases"`
}

// Case is what one request must get.
type Case struct {
	Outcome        string              `json:"outcome"`
	ReplyTo        *string             `json:"reply_to"`
	Beneficiaries  []string            `json:"beneficiaries"`
	Mentions       map[string][]string `json:"mentions"`
	Folder         string              `json:"folder"`
	Channel        string              `json:"channel"`
	NoPersonalData bool                `json:"no_personal_data"`
	BodyLists      []string            `json:"body_lists"`
	Note           string              `json:"note"`
}

// ParseExpected reads an expected.json file.
func ParseExpected(b []byte) (*Expected, error) {
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("expected.json: %w", err)
	}
	return &e, nil
}

// ExpectedCases returns the embedded expected.json.
func ExpectedCases() *Expected {
	b, err := files.ReadFile("requests/expected.json")
	if err != nil {
		panic(err)
	}
	e, err := ParseExpected(b)
	if err != nil {
		panic(err)
	}
	return e
}

// ParsedRegistry returns the sample registry read and validated by the
// store's own parser.
func ParsedRegistry() (*store.Registry, error) {
	return store.ParseRegistry(bytes.NewReader(Registry()))
}

// Comptes returns the sample registry's comptes keyed by id, for tests
// that decide against them.
func Comptes() (map[string]*rules.Compte, error) {
	reg, err := ParsedRegistry()
	if err != nil {
		return nil, err
	}
	out := make(map[string]*rules.Compte, len(reg.Comptes))
	for i := range reg.Comptes {
		out[reg.Comptes[i].ID] = &reg.Comptes[i]
	}
	return out, nil
}

// LoadInto replaces the registry of db with the sample registry: the demo's
// and the tests' starting point.
func LoadInto(ctx context.Context, db *store.DB) error {
	reg, err := ParsedRegistry()
	if err != nil {
		return err
	}
	return db.ImportRegistry(ctx, reg)
}
