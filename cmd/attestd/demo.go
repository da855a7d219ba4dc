package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// demoUser is the service mailbox of the demo.
const demoUser = "attestation@cpam.example"

func cmdDemo(c *command, args []string) error {
	fs := c.flags()
	once := fs.Bool("once", false, "exit 0 once every request is handled (default: keep serving)")
	out := fs.String("out", "demo-out", "directory for summary.json, the log, and per request REQUEST/reply.eml with its PDF")
	reqDir := fs.String("requests", "", "directory of .eml requests (default: the built-in samples)")
	regFile := fs.String("registry", "", "registry file (default: the built-in sample registry)")
	cfgFile := fs.String("config", "", configHelp("the demo takes its service, trust, limits and templates sections (its own servers and a throwaway store stand for the rest)"))
	imapAddr := fs.String("imap", "127.0.0.1:0", "address of the in-process IMAP server")
	smtpAddr := fs.String("smtp", "127.0.0.1:0", "address of the in-process SMTP server")
	httpAddr := fs.String("http", "127.0.0.1:0", "address of the console and the API (not served with --once)")
	metricsAddr := fs.String("metrics", "", "serve /metrics, /healthz and /readyz on this address, e.g. 127.0.0.1:9464 (default: not served)")
	var today todayFlag
	fs.Var(&today, "today", "run the rules at this date (default: today)")
	if err := parse(fs, args); err != nil {
		return err
	}
	reqs, reg, err := demoInputs(*reqDir, *regFile)
	if err != nil {
		return err
	}
	cfg, err := demoConfig(*cfgFile)
	if err != nil {
		return err
	}
	cfg.Metrics.Address = *metricsAddr
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "attestd-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.Store = config.StoreConfig{Driver: "sqlite", DSN: filepath.Join(tmp, "attestd.db")}
	access, err := demoWeb(&cfg, *httpAddr, tmp, !*once)
	if err != nil {
		return err
	}
	password := randomPassword()
	imapSrv, err := localmail.StartIMAP(*imapAddr, map[string]string{demoUser: password})
	if err != nil {
		return err
	}
	defer imapSrv.Close()
	smtpSrv, err := localmail.StartSMTP(*smtpAddr)
	if err != nil {
		return err
	}
	defer smtpSrv.Close()
	cfg.IMAP.Address, cfg.IMAP.Username, cfg.SMTP.Address = imapSrv.Addr(), demoUser, smtpSrv.Addr()
	logFile, err := os.Create(filepath.Join(*out, "attestd.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, nil))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	results := make(chan daemon.Result, 64)
	serveErr, err := startDemoDaemon(ctx, cfg, reg, serveOptions{today: today.d, log: log, results: results, imapPassword: password, webReady: access.ready})
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if _, err := imapSrv.Append(demoUser, "INBOX", r.Raw); err != nil {
			return fmt.Errorf("append %s: %w", r.Name, err)
		}
	}
	if !*once {
		fmt.Printf("attestd demo is serving. Drop requests into the mailbox with any mail client:\n"+
			"  IMAP  %s  user %s  password %s  (no TLS)\n  SMTP  %s  (replies are captured here and written to %s)\n"+
			"Logs: %s. Ctrl-C to stop.\n\n", imapSrv.Addr(), demoUser, password, smtpSrv.Addr(), *out, logFile.Name())
		access.print(os.Stdout)
	}
	return newDemoReport(*out, reqs, smtpSrv).follow(results, serveErr, *once, cancel)
}

// startDemoDaemon runs the daemon with the registry reg in the background
// and returns once it has imported it; the channel gives serve's error.
func startDemoDaemon(ctx context.Context, cfg config.Config, reg *store.Registry, o serveOptions) (<-chan error, error) {
	serveErr := make(chan error, 1)
	ready := make(chan struct{})
	o.ready = func(db *store.DB) {
		if err := db.ImportRegistry(ctx, reg); err != nil {
			o.log.Error("registry import", "err", err)
		}
		close(ready)
	}
	go func() { serveErr <- serve(ctx, cfg, o) }()
	select {
	case <-ready:
		return serveErr, nil
	case err := <-serveErr:
		return nil, err
	}
}

// demoInputs reads the requests and the registry of the demo: the
// built-in samples, or the files given.
func demoInputs(reqDir, regFile string) ([]samples.Request, *store.Registry, error) {
	reqs := samples.Requests()
	if reqDir != "" {
		var err error
		if reqs, err = samples.ReadRequests(os.DirFS(reqDir), "."); err != nil {
			return nil, nil, fmt.Errorf("--requests: %w", err)
		}
	}
	registry := samples.Registry()
	if regFile != "" {
		var err error
		if registry, err = os.ReadFile(regFile); err != nil {
			return nil, nil, fmt.Errorf("--registry: %w", err)
		}
	}
	reg, err := store.ParseRegistry(bytes.NewReader(registry))
	if err != nil {
		return nil, nil, fmt.Errorf("registry refused: %w", err)
	}
	return reqs, reg, nil
}

// follow records the results as they come until the daemon stops or, with
// once, every request is handled; then it writes summary.json.
func (r *demoReport) follow(results <-chan daemon.Result, serveErr <-chan error, once bool, cancel func()) error {
	for {
		select {
		case res := <-results:
			if err := r.add(res); err != nil {
				return err
			}
			if !once {
				r.printRow(os.Stdout, len(r.rows)-1)
			}
			if once && len(r.rows) >= r.want {
				r.printTable(os.Stdout)
				cancel()
				<-serveErr
				return r.writeSummary()
			}
		case err := <-serveErr:
			if err != nil {
				return err
			}
			return r.writeSummary()
		}
	}
}

// demoConfig is the embedded default: the trust settings of the samples'
// expected.json, or those of --config.
func demoConfig(file string) (config.Config, error) {
	cfg := loadgen.SampleConfig(nil)
	cfg.IMAP.PollInterval = config.Duration(2 * time.Second)
	cfg.IMAP.Username = demoUser
	if file != "" {
		fileCfg, err := loadConfig(file)
		if err != nil {
			return cfg, err
		}
		cfg.Service, cfg.Trust, cfg.Limits, cfg.Templates = fileCfg.Service, fileCfg.Trust, fileCfg.Limits, fileCfg.Templates
	}
	return cfg, nil
}

func randomPassword() string {
	b := make([]byte, 9)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// demoRow is one request's line of the table and of summary.json.
type demoRow struct {
	File          string              `json:"file,omitempty"`
	MessageID     string              `json:"message_id"`
	Subject       string              `json:"subject"`
	Sender        string              `json:"sender"`
	Outcome       rules.Outcome       `json:"outcome"`
	Folder        string              `json:"folder"`
	ReplyTo       *string             `json:"reply_to"`
	Attachments   []string            `json:"attachments"`
	Beneficiaries []string            `json:"beneficiaries"`
	Mentions      map[string][]string `json:"mentions"`
	Reference     string              `json:"reference,omitempty"`
	Millis        int64               `json:"ms"`
	// NoMessageID is set when the request had no Message-ID: the daemon
	// knows it by a digest of its bytes (MessageID), and its reply, which
	// has no In-Reply-To, was found by its reference.
	NoMessageID bool `json:"no_message_id,omitempty"`
}

type demoReport struct {
	dir  string
	smtp *localmail.SMTPServer
	// requests are the requests by the daemon's key: the Message-ID, or
	// the digest of a request without one. Identical requests share a key:
	// each result takes the next of them.
	requests map[string][]samples.Request
	want     int // how many requests were delivered
	rows     []demoRow
}

func newDemoReport(dir string, reqs []samples.Request, smtp *localmail.SMTPServer) *demoReport {
	r := &demoReport{dir: dir, smtp: smtp, requests: map[string][]samples.Request{}, want: len(reqs)}
	for _, q := range reqs {
		key := store.MessageDigest(q.Raw)
		if m, err := inbox.ParseMessage(q.Raw, inbox.DefaultLimits()); err == nil && m.MessageID != "" {
			key = m.MessageID
		}
		r.requests[key] = append(r.requests[key], q)
	}
	return r
}

// request returns the next request known by key, if any.
func (r *demoReport) request(key string) (samples.Request, bool) {
	qs := r.requests[key]
	if len(qs) == 0 {
		return samples.Request{}, false
	}
	r.requests[key] = qs[1:]
	return qs[0], true
}

// add records one result, writing its reply and attachments to the
// output directory.
func (r *demoReport) add(res daemon.Result) error {
	row := demoRow{MessageID: res.MessageID, Outcome: res.Outcome, Folder: res.Folder, Reference: res.Reference,
		Attachments: []string{}, Beneficiaries: []string{}, Mentions: map[string][]string{}, Millis: res.Duration.Milliseconds()}
	base := strings.NewReplacer("@", "_", "/", "_", "<", "", ">", "", ":", "_").Replace(res.MessageID)
	row.NoMessageID = strings.HasPrefix(res.MessageID, "sha256:")
	if q, ok := r.request(res.MessageID); ok {
		row.File = q.Name
		base = strings.TrimSuffix(q.Name, ".eml")
		if m, err := inbox.ParseMessage(q.Raw, inbox.DefaultLimits()); err == nil {
			row.Subject, row.Sender = m.Subject, m.From
		}
	}
	if res.ReplyTo != "" {
		reply, err := r.findReply(res)
		if err != nil {
			return err
		}
		to := res.ReplyTo
		row.ReplyTo = &to
		dir := filepath.Join(r.dir, base)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "reply.eml"), reply, 0o644); err != nil {
			return err
		}
		atts, err := attachments(reply)
		if err != nil {
			return fmt.Errorf("reply to %s: %w", res.MessageID, err)
		}
		for _, a := range atts {
			row.Attachments = append(row.Attachments, a.name)
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(a.name)), a.data, 0o644); err != nil {
				return err
			}
			sum, err := pdftext.ReadAttestation(a.data)
			if err != nil {
				return fmt.Errorf("read back %s: %w", a.name, err)
			}
			row.Beneficiaries = append(row.Beneficiaries, sum.Beneficiaries...)
			for k, v := range sum.Mentions {
				row.Mentions[k] = v
			}
		}
	}
	r.rows = append(r.rows, row)
	return nil
}

// findReply returns the reply the SMTP server received for a request: it
// was accepted before the original was filed, so it is there already. A
// reply's Message-ID is its reference on the service domain, so the reference
// finds it, also for a request without a Message-ID, whose reply has no
// In-Reply-To.
func (r *demoReport) findReply(res daemon.Result) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		for _, m := range r.smtp.Messages() {
			if answers(m.Raw, res) {
				return m.Raw, nil
			}
		}
		if _, err := r.smtp.Wait(ctx, len(r.smtp.Messages())+1); err != nil {
			return nil, fmt.Errorf("no reply to %s (reference %s) reached the SMTP server", res.MessageID, res.Reference)
		}
	}
}

// answers reports whether reply answers the request of res: its Message-ID
// is the reference's, or its In-Reply-To the request's Message-ID.
func answers(reply []byte, res daemon.Result) bool {
	id, irt := replyIDs(reply)
	if res.Reference != "" {
		local, _, _ := strings.Cut(id, "@")
		return strings.EqualFold(local, res.Reference)
	}
	return irt != "" && irt == res.MessageID
}

func (r *demoReport) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tSUBJECT\tSENDER\tOUTCOME\tREPLY TO\tATTACHMENTS")
	for _, row := range r.rows {
		fmt.Fprintln(tw, row.line())
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d requests handled; replies and PDFs in %s, summary in %s\n", len(r.rows), r.dir, filepath.Join(r.dir, "summary.json"))
}

func (r *demoReport) printRow(w io.Writer, i int) {
	fmt.Fprintln(w, strings.ReplaceAll(r.rows[i].line(), "\t", "  |  "))
}

func (row demoRow) line() string {
	to := "-"
	if row.ReplyTo != nil {
		to = *row.ReplyTo
	}
	atts := strings.Join(row.Attachments, ",")
	if atts == "" {
		atts = "-"
	}
	name := row.File
	if name == "" {
		name = row.MessageID
	}
	if row.NoMessageID {
		name += " (no Message-ID)"
	}
	return strings.Join([]string{name, clip(row.Subject, 38), row.Sender, string(row.Outcome), to, atts}, "\t")
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (r *demoReport) writeSummary() error {
	b, err := json.MarshalIndent(r.rows, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.dir, "summary.json"), append(b, '\n'), 0o644)
}
