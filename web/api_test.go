package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/decide"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/web"
)

type apiAnswer struct {
	status      int
	contentType string
	body        []byte
	problem     map[string]any
}

func callAPI(t testing.TB, e *env, token, body string) apiAnswer {
	t.Helper()
	a, err := postAPI(t, http.DefaultClient, e.web.URL, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// postAPI posts body to the API at base with client; an error is one of
// the connection (the TLS handshake refused, say).
func postAPI(t testing.TB, client *http.Client, base, token, body string) (apiAnswer, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/attestations", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return apiAnswer{}, err
	}
	defer resp.Body.Close()
	a := apiAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	a.body, _ = io.ReadAll(resp.Body)
	if a.contentType == "application/problem+json" {
		if err := json.Unmarshal(a.body, &a.problem); err != nil {
			t.Fatalf("problem+json does not parse: %v\n%s", err, a.body)
		}
	}
	return a, nil
}

const (
	benoitNIR = "185066912308738"
	marcNIR   = "178117505612342"
	leaBirth  = "2015-03-02"
)

func TestAPIFamilyPDFAndRefusals(t *testing.T) {
	e := newEnv(t, false, nil)
	a := callAPI(t, e, apiToken, `{"nir":"`+benoitNIR+`","family":true,"mentions":["C2S"]}`)
	if a.status != http.StatusOK || a.contentType != "application/pdf" {
		t.Fatalf("Peigne family: %d %s\n%s", a.status, a.contentType, a.body)
	}
	sum, err := pdftext.ReadAttestation(a.body)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}; !slices.Equal(sum.Beneficiaries, want) {
		t.Errorf("family PDF lists %v, want %v", sum.Beneficiaries, want)
	}
	a = callAPI(t, e, apiToken, `{"nir":"`+marcNIR+`"}`)
	if a.status != http.StatusUnprocessableEntity || a.problem["outcome"] != "address_missing" {
		t.Errorf("Marc: %d %v, want 422 address_missing", a.status, a.problem)
	}
	a = callAPI(t, e, apiToken, `{"nir":"`+benoitNIR+`","beneficiaries":[{"first_name":"lea","birth_date":"`+leaBirth+`"}]}`)
	if sum, err := pdftext.ReadAttestation(a.body); a.status != http.StatusOK || err != nil || !slices.Equal(sum.Beneficiaries, []string{"LÉA"}) {
		t.Errorf("Léa by first name and birth date: %d %v %v", a.status, err, sum)
	}
	for _, c := range []struct {
		body    string
		status  int
		outcome string
	}{
		{`{"nir":"185066912308739"}`, http.StatusBadRequest, "nir_invalid"},
		{`{"nir":"190017512345655"}`, http.StatusNotFound, "sender_unknown"},
		{`{"nir":"` + benoitNIR + `","beneficiaries":[{"first_name":"Paul","birth_date":"2001-01-01"}]}`, http.StatusUnprocessableEntity, "beneficiary_unknown"},
		{`{"nir":"` + benoitNIR + `","family":"yes"}`, http.StatusBadRequest, ""},
		{`{"nir":"` + benoitNIR + `","mentions":["ALD"]}`, http.StatusBadRequest, ""},
	} {
		a := callAPI(t, e, apiToken, c.body)
		if a.status != c.status || a.contentType != "application/problem+json" || (a.problem["outcome"] != nil && a.problem["outcome"] != c.outcome) ||
			(c.outcome != "" && a.problem["outcome"] != c.outcome) {
			t.Errorf("%s: %d %s %v, want %d %q", c.body, a.status, a.contentType, a.problem, c.status, c.outcome)
		}
	}
}

func TestAPIRefusesWithoutToken(t *testing.T) {
	e := newEnv(t, false, nil)
	for _, tok := range []string{"", "wrong-token"} {
		a := callAPI(t, e, tok, `{"nir":"`+benoitNIR+`","family":true}`)
		if a.status != http.StatusUnauthorized || a.contentType != "application/problem+json" {
			t.Errorf("token %q: %d %s, want 401 problem+json", tok, a.status, a.contentType)
		}
	}
	if rows, _ := e.db.Entries(context.Background(), store.EntryFilter{}); len(rows) != 0 {
		t.Errorf("refused calls reached the ledger: %d rows", len(rows))
	}
}

// TestAPILedgerAndRateLimit: every call is in the ledger with channel api,
// and the attestations of the API count toward the compte's daily limit
// like mailed ones.
func TestAPILedgerAndRateLimit(t *testing.T) {
	e := newEnv(t, false, func(c *config.Config) { c.Limits.AttestationsPerComptePerDay = 2 })
	var codes []int
	for range 3 {
		codes = append(codes, callAPI(t, e, apiToken, `{"nir":"`+benoitNIR+`","family":true}`).status)
	}
	a := callAPI(t, e, apiToken, `{"nir":"`+benoitNIR+`","family":true}`)
	if !slices.Equal(codes, []int{200, 200, 429}) || a.problem["outcome"] != "limit_reached" {
		t.Errorf("statuses %v then %v, want 200 200 429 and limit_reached", codes, a.problem)
	}
	rows, err := e.db.Entries(context.Background(), store.EntryFilter{CompteID: "C-BENOIT"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d ledger rows, want 4", len(rows))
	}
	for _, r := range rows {
		if r.Channel != "api" || r.Key.Mailbox != store.APIMailbox || !strings.HasPrefix(r.Reference, "AD-20261125-") {
			t.Errorf("ledger row %+v: want channel api and a reference of today", r)
		}
	}
	n, _ := e.db.CountIssuedSince(context.Background(), "C-BENOIT", today.Time().AddDate(0, 0, -30))
	if n != 2 {
		t.Errorf("%d attestations counted for the compte, want 2", n)
	}
}

// BenchmarkAPIFamily measures POST /v1/attestations of family attestations
// through the real HTTP server, PDF included (go test -bench APIFamily
// ./web; the p99 is reported with the metrics).
func BenchmarkAPIFamily(b *testing.B) {
	e := newEnv(b, false, func(c *config.Config) { c.Limits.AttestationsPerComptePerDay = 1 << 30 })
	body := []byte(`{"nir":"` + benoitNIR + `","family":true}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	lat := newLatencies(b.N)
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, e.web.URL+"/v1/attestations", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+apiToken)
			stop := lat.start()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			stop()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
	lat.report(b)
	reportCPU(b, cpu)
}

// slowDaemon answers every call once released, counting the calls in
// progress.
type slowDaemon struct {
	mu            sync.Mutex
	inFlight, max int
	entered       chan struct{}
	release       chan struct{}
}

func (d *slowDaemon) Attest(ctx context.Context, req decide.APIRequest) (decide.APIAnswer, error) {
	d.mu.Lock()
	d.inFlight++
	d.max = max(d.max, d.inFlight)
	d.mu.Unlock()
	d.entered <- struct{}{}
	<-d.release
	d.mu.Lock()
	d.inFlight--
	d.mu.Unlock()
	return decide.APIAnswer{Outcome: rules.AddressMissing}, nil
}

func (d *slowDaemon) Retry(context.Context, int64, string, string) error { return nil }

// A burst of calls is decided a few at a time (twice the CPUs, at least
// four), the others waiting their turn; all are answered.
func TestAPIBoundsCallsDecidedAtOnce(t *testing.T) {
	const calls = 24
	slots := max(4, 2*runtime.GOMAXPROCS(0))
	if slots >= calls {
		t.Skipf("%d CPUs: the bound is not below the burst", runtime.GOMAXPROCS(0))
	}
	d := &slowDaemon{entered: make(chan struct{}, calls), release: make(chan struct{})}
	cfg := config.Default()
	cfg.API.Clients = []config.APIClient{{Name: "site", TokenSHA256: web.TokenSHA256(apiToken)}}
	srv, err := web.New(web.Options{Config: cfg, Daemon: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	arrived := make(chan struct{}, calls)
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	statuses := make(chan int, calls)
	for range calls {
		go func() {
			a, err := postAPI(t, http.DefaultClient, ts.URL, apiToken, `{"nir":"`+marcNIR+`"}`)
			if err != nil {
				t.Error(err)
			}
			statuses <- a.status
		}()
	}
	for range calls {
		<-arrived
	}
	for range slots {
		<-d.entered
	}
	// Every call is at the server and the slots are full: each release
	// lets one more in.
	for range calls {
		d.release <- struct{}{}
	}
	for range calls {
		if s := <-statuses; s != http.StatusUnprocessableEntity {
			t.Errorf("a call answered %d, want 422", s)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.max != slots {
		t.Errorf("%d calls decided at once, want %d", d.max, slots)
	}
}
