package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/rules"
)

type openapiDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Comp    struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

func readOpenAPI(t *testing.T, h http.Handler) openapiDoc {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc openapiDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// jsonFields are the JSON names of a struct's fields.
func jsonFields(v any) []string {
	var out []string
	ty := reflect.TypeOf(v)
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIMatchesHandlers checks the document against the code: every
// operation is routed, the request and problem schemas have exactly the
// fields the handlers read and write, every status the handler can answer
// is documented (and none other), and the outcome enum is the outcomes the
// API can refuse with.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	s, err := New(Options{Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	doc := readOpenAPI(t, h)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(strings.ToUpper(method), path, strings.NewReader("{}")))
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				t.Errorf("%s %s documented but not served: %d", method, path, rec.Code)
			}
		}
	}
	props := func(name string) []string {
		return slices.Sorted(maps.Keys(doc.Comp.Schemas[name].Properties))
	}
	if got, want := props("AttestationRequest"), jsonFields(attestationRequest{}); !slices.Equal(got, want) {
		t.Errorf("AttestationRequest properties %v, handler reads %v", got, want)
	}
	if got, want := props("Problem"), jsonFields(problem{}); !slices.Equal(got, want) {
		t.Errorf("Problem properties %v, handler writes %v", got, want)
	}
	var item struct {
		Items struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"items"`
	}
	json.Unmarshal(doc.Comp.Schemas["AttestationRequest"].Properties["beneficiaries"], &item)
	if got, want := slices.Sorted(maps.Keys(item.Items.Properties)), jsonFields(beneficiary{}); !slices.Equal(got, want) {
		t.Errorf("beneficiary properties %v, handler reads %v", got, want)
	}
	var post struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	json.Unmarshal(doc.Paths["/v1/attestations"]["post"], &post)
	want := map[string]bool{"200": true, "400": true, "401": true, "503": true}
	var refusals []string
	for o := range outcomeTitles {
		want[strconv.Itoa(outcomeStatus(o))] = true
		refusals = append(refusals, string(o))
	}
	if got := slices.Sorted(maps.Keys(post.Responses)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Errorf("documented statuses %v, handler answers %v", got, slices.Sorted(maps.Keys(want)))
	}
	var outcome struct {
		Enum []string `json:"enum"`
	}
	json.Unmarshal(doc.Comp.Schemas["Problem"].Properties["outcome"], &outcome)
	slices.Sort(outcome.Enum)
	slices.Sort(refusals)
	if !slices.Equal(outcome.Enum, refusals) {
		t.Errorf("documented outcomes %v, API refuses with %v", outcome.Enum, refusals)
	}
	for _, o := range refusals {
		if !slices.Contains(rules.Outcomes, rules.Outcome(o)) {
			t.Errorf("%s is not an outcome of SPEC section 5", o)
		}
	}
}
