package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/web"
)

// benchAPI is `attestd bench --api` (issue 13): POST /v1/attestations of
// the Peigne family offered at a fixed rate, open loop, to the HTTP server
// of a daemon run as `attestd demo` runs it (in-process mail servers, the
// sample registry, a throwaway SQLite store).
type benchAPI struct {
	on       *bool
	duration *time.Duration
	warmup   *int
}

// defaultAPIRate is the rate --api offers when --rate is not given: the
// floor of issue 13.
const defaultAPIRate = 200

// apiBenchBody is the request: the whole family of Benoît Peigne, four
// beneficiaries, with both mentions.
const apiBenchBody = `{"nir":"185066912308738","family":true,"mentions":["ETM","C2S"]}`

func benchAPIFlags(fs *flagSet) *benchAPI {
	return &benchAPI{
		on: fs.Bool("api", false, "instead: offer POST /v1/attestations (the Peigne family) at --rate per second (default 200), open loop, "+
			"for --duration, to the HTTP server of an in-process daemon; latency counts from each request's scheduled time"),
		duration: fs.Duration("duration", 30*time.Second, "with --api: how long requests are offered"),
		warmup:   fs.Int("warmup", 50, "with --api: requests sent one by one before the run, checked and not counted"),
	}
}

// apiBenchReport is what `bench --api` prints.
type apiBenchReport struct {
	Offered   float64 `json:"offered_per_s"`
	Seconds   float64 `json:"duration_s"`
	Requests  int     `json:"requests"`
	OK        int     `json:"ok"`
	Errors    int     `json:"errors"`
	Achieved  float64 `json:"achieved_per_s"`
	P50       float64 `json:"p50_ms"`
	P90       float64 `json:"p90_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	SendLag   float64 `json:"send_lag_max_ms"`
	CPUPerReq float64 `json:"cpu_ms_per_request"`
	// FirstError describes the first failed request.
	FirstError string `json:"first_error,omitempty"`
	// LoadBefore and LoadAfter are /proc/loadavg's three averages.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
}

func (b *benchAPI) run(ctx context.Context, rate float64, today rules.Date, asJSON bool, logTo io.Writer) error {
	if rate == 0 {
		rate = defaultAPIRate
	}
	if *b.duration <= 0 || *b.warmup < 0 {
		return usageErrorf("--duration must be positive, --warmup not negative")
	}
	if today.IsZero() {
		today = rules.MustDate(samples.ExpectedCases().Today)
	}
	base, token, stop, err := startAPIBenchDaemon(ctx, today, logTo)
	if err != nil {
		return err
	}
	defer stop()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096}}
	call := func() error { _, err := apiBenchPost(ctx, client, base, token); return err }
	if err := checkAPIBenchPDF(ctx, client, base, token); err != nil {
		return err
	}
	for range *b.warmup {
		if err := call(); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	rep := openLoop(ctx, rate, *b.duration, call)
	if err := printAPIBench(os.Stdout, rep, asJSON); err != nil {
		return err
	}
	if rep.Errors > 0 {
		return fmt.Errorf("%d of %d requests failed; the first: %s", rep.Errors, rep.Requests, rep.FirstError)
	}
	return nil
}

// startAPIBenchDaemon runs the daemon with the console and the API on a
// port of its own, daily limits out of the way, and returns the server's
// URL and a bearer token.
func startAPIBenchDaemon(ctx context.Context, today rules.Date, logTo io.Writer) (base, token string, stop func(), err error) {
	_, reg, err := demoInputs("", "")
	if err != nil {
		return "", "", nil, err
	}
	tmp, err := os.MkdirTemp("", "attestd-bench-api-")
	if err != nil {
		return "", "", nil, err
	}
	var closers []func()
	stop = func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
		os.RemoveAll(tmp)
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	cfg, _ := demoConfig("")
	cfg.Store = config.StoreConfig{Driver: "sqlite", DSN: filepath.Join(tmp, "attestd.db")}
	cfg.HTTP.Address = "127.0.0.1:0"
	cfg.Limits.AttestationsPerComptePerDay = 1 << 30
	token = randomPassword() + randomPassword()
	cfg.API.Clients = []config.APIClient{{Name: "bench", TokenSHA256: web.TokenSHA256(token)}}
	password := randomPassword()
	imapSrv, err := localmail.StartIMAP("127.0.0.1:0", map[string]string{demoUser: password})
	if err != nil {
		return "", "", nil, err
	}
	closers = append(closers, func() { imapSrv.Close() })
	smtpSrv, err := localmail.StartSMTP("127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	closers = append(closers, func() { smtpSrv.Close() })
	cfg.IMAP.Address, cfg.SMTP.Address = imapSrv.Addr(), smtpSrv.Addr()
	if logTo == nil {
		logTo = io.Discard
	}
	ctx, cancel := context.WithCancel(ctx)
	addr := make(chan string, 1)
	serveErr, err := startDemoDaemon(ctx, cfg, reg, serveOptions{today: today, log: slog.New(slog.NewJSONHandler(logTo, nil)),
		imapPassword: password, webReady: func(a string) { addr <- a }})
	if err != nil {
		cancel()
		return "", "", nil, err
	}
	closers = append(closers, func() { cancel(); <-serveErr })
	select {
	case a := <-addr:
		return "http://" + a, token, stop, nil
	case err = <-serveErr:
		return "", "", nil, fmt.Errorf("the daemon stopped: %v", err)
	}
}

// apiBenchPost sends one request and checks the answer: 200, a whole PDF,
// a reference.
func apiBenchPost(ctx context.Context, client *http.Client, base, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/attestations", strings.NewReader(apiBenchBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	case resp.Header.Get("Content-Type") != "application/pdf" || resp.Header.Get("Attestation-Reference") == "":
		return nil, fmt.Errorf("answer of type %q, reference %q", resp.Header.Get("Content-Type"), resp.Header.Get("Attestation-Reference"))
	case !bytes.HasPrefix(body, []byte("%PDF-")) || !bytes.Contains(body[max(len(body)-32, 0):], []byte("%%EOF")):
		return nil, fmt.Errorf("the body (%d bytes) is not a whole PDF", len(body))
	}
	return body, nil
}

// checkAPIBenchPDF reads one answer back: the family's four first names.
func checkAPIBenchPDF(ctx context.Context, client *http.Client, base, token string) error {
	pdf, err := apiBenchPost(ctx, client, base, token)
	if err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	sum, err := pdftext.ReadAttestation(pdf)
	if err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	if want := []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}; !slices.Equal(sum.Beneficiaries, want) {
		return fmt.Errorf("first request: the PDF lists %v, want %v", sum.Beneficiaries, want)
	}
	return nil
}

// openLoop calls call at rate per second for d, each call at its scheduled
// time whether or not earlier ones have answered, and measures each from
// its scheduled time: a server that queues shows it in the latencies
// instead of slowing the offer (no coordinated omission).
func openLoop(ctx context.Context, rate float64, d time.Duration, call func() error) apiBenchReport {
	n := max(int(rate*d.Seconds()), 1)
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	rep := apiBenchReport{Offered: rate, LoadBefore: loadAverage()}
	cpu0 := processCPU()
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	sent := 0
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		if ctx.Err() != nil {
			break
		}
		rep.SendLag = max(rep.SendLag, ms(time.Since(at)))
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
			lat[i] = time.Since(at)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	lat, errs = lat[:sent], errs[:sent]
	rep.Requests, rep.Seconds = sent, elapsed.Seconds()
	for _, err := range errs {
		if err != nil {
			if rep.Errors++; rep.FirstError == "" {
				rep.FirstError = err.Error()
			}
		}
	}
	rep.OK = sent - rep.Errors
	rep.Achieved = float64(rep.OK) / elapsed.Seconds()
	slices.Sort(lat)
	if sent > 0 {
		q := func(p float64) float64 { return ms(lat[int(p*float64(sent-1))]) }
		rep.P50, rep.P90, rep.P99, rep.Max = q(0.50), q(0.90), q(0.99), ms(lat[sent-1])
		rep.CPUPerReq = ms(processCPU()-cpu0) / float64(sent)
	}
	rep.LoadAfter = loadAverage()
	return rep
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// processCPU is the CPU time (user and system) this process has used: the
// server's and the load generator's.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's load over 1, 5 and 15 minutes, where Linux
// says it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func printAPIBench(w io.Writer, r apiBenchReport, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	fmt.Fprintf(w, "POST /v1/attestations, the Peigne family (4 beneficiaries, ETM and C2S), open loop\n")
	fmt.Fprintf(w, "offered    %.0f/s for %.1f s: %d requests (the generator lagged %.1f ms at most)\n", r.Offered, r.Seconds, r.Requests, r.SendLag)
	fmt.Fprintf(w, "answered   %d with a PDF (200), %d errors; achieved %.1f/s\n", r.OK, r.Errors, r.Achieved)
	fmt.Fprintf(w, "latency    p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms (from each request's scheduled time)\n", r.P50, r.P90, r.P99, r.Max)
	fmt.Fprintf(w, "cpu        %.2f ms a request (server and generator, one process)\n", r.CPUPerReq)
	if r.LoadBefore != "" {
		fmt.Fprintf(w, "load       %s before, %s after\n", r.LoadBefore, r.LoadAfter)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	return nil
}
