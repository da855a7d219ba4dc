package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/pgtemp"
	"github.com/cpam/attestd/metrics"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/store"
)

// passwordEnv carries the IMAP password to a child daemon.
const passwordEnv = "ATTESTD_BENCH_IMAP_PASSWORD"

// runningDaemon is the daemon under measurement, or the replicas of one.
type runningDaemon interface {
	// metricsURLs are the base URLs of its metrics and health checks, one
	// a replica.
	metricsURLs() []string
	// cpu is the CPU time used so far by what the report's figures cover.
	cpu(ctx context.Context) (time.Duration, error)
	// stop ends it (SIGTERM for a child) and returns its peak resident
	// memory in bytes (summed over replicas).
	stop() (peakRSS int64, err error)
	// isolated is true when the figures are the daemon's alone.
	isolated() bool
	// exited is closed when a child process ends during the run; nil in
	// process.
	exited() <-chan struct{}
	// lastWords is the end of the log of a child that exited, for errors.
	lastWords() string
}

// SampleConfig is config.Default with the service and trust settings
// that e (nil: the embedded samples/requests/expected.json) assumes: the
// configuration of a bench run and of the demo, which pass it to the daemon
// as mox's localserve does. The product never reads the samples.
func SampleConfig(e *samples.Expected) config.Config {
	if e == nil {
		e = samples.ExpectedCases()
	}
	cfg := config.Default()
	cfg.Service.Address = e.ServiceAddress
	cfg.Trust.AuthservIDs = []string{e.TrustedAuthservID}
	cfg.Trust.AgentDomains = e.AgentDomains
	cfg.Trust.Gateway = config.GatewayConfig{Domain: e.GatewayDomain, Header: e.GatewayHeader}
	return cfg
}

// benchConfig is the daemon's configuration for a run: the samples' trust
// settings, the given mail servers, the store (nil: a SQLite file in dir),
// and no daily limits (a run sends the same comptes hundreds of requests).
func benchConfig(o Options, dir, smtpAddr string, pg *pgtemp.Schema) config.Config {
	cfg := SampleConfig(o.Expected)
	cfg.SMTP.Address = smtpAddr
	cfg.Store = config.StoreConfig{Driver: store.DriverSQLite, DSN: filepath.Join(dir, "attestd.db")}
	if pg != nil {
		cfg.Store = config.StoreConfig{Driver: store.DriverPostgres, DSN: pg.DSN}
	}
	cfg.Limits.AttestationsPerComptePerDay = 1 << 30
	cfg.Limits.GenericRepliesPerAddressPerDay = 1 << 30
	cfg.Workers = o.Workers
	return cfg
}

// openStore creates the run's store with the sample registry.
func openStore(ctx context.Context, cfg config.Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		return nil, err
	}
	if err := samples.LoadInto(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("loadgen: loading the sample registry: %w", err)
	}
	return db, nil
}

// inProcess is the daemon running in this process.
type inProcess struct {
	db     *store.DB
	d      *daemon.Daemon
	srv    *metrics.Server
	cancel context.CancelFunc
	done   chan error
}

func startInProcess(ctx context.Context, cfg config.Config, secrets map[string]string, today rules.Date, log io.Writer) (*inProcess, error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m := metrics.New(metrics.Options{OutboxDepth: db.OutboxDepth})
	srv, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		db.Close()
		return nil, err
	}
	d, err := daemon.New(cfg, daemon.Options{
		Store: db, Observer: m, IMAPPassword: secrets[passwordEnv], Today: today,
		Logger: slog.New(slog.NewJSONHandler(log, nil)),
	})
	if err != nil {
		srv.Close()
		db.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{db: db, d: d, srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- d.Run(ctx) }()
	return p, nil
}

func (p *inProcess) metricsURLs() []string   { return []string{"http://" + p.srv.Addr()} }
func (p *inProcess) isolated() bool          { return false }
func (p *inProcess) exited() <-chan struct{} { return nil }
func (p *inProcess) lastWords() string       { return "" }

func (p *inProcess) cpu(context.Context) (time.Duration, error) {
	cpu, _ := selfUsage()
	return cpu, nil
}

func (p *inProcess) stop() (int64, error) {
	p.cancel()
	err := <-p.done
	p.d.Close()
	p.srv.Close()
	p.db.Close()
	_, peak := selfUsage()
	return peak, err
}

// child is the daemon as `attestd run` in a process of its own.
type child struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
	err  error   // of Wait, once exited is closed
	tail tailBuf // the end of its log, for errors
}

// tailBuf keeps the last 2 KiB written to it.
type tailBuf struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuf) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 2048; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// startChild starts replica i (from 0) of the daemon, on a store that
// openStore made already, with the passwords in its environment.
func startChild(command []string, cfg config.Config, secrets map[string]string, today rules.Date, dir string, i int, log io.Writer) (*child, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg.Metrics.Address = addr
	if j := cfg.Outbox.JournalPath(); j != "" && i > 0 {
		// A sent journal file and a node name of its own for each replica
		// (docs/operations.md, Several replicas): the child derives the name.
		cfg.Outbox.Journal, cfg.Outbox.Node = fmt.Sprintf("%s-%d", j, i+1), ""
	}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "attestd.yaml")
	if i > 0 {
		path = filepath.Join(dir, fmt.Sprintf("attestd-%d.yaml", i+1))
	}
	if err := os.WriteFile(path, text, 0o600); err != nil {
		return nil, err
	}
	args := append(append([]string(nil), command[1:]...), "--config", path, "--today", today.String())
	cmd := exec.Command(command[0], args...)
	cmd.Env = os.Environ()
	for k, v := range secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	c := &child{base: "http://" + addr, done: make(chan struct{})}
	cmd.Stdout = io.MultiWriter(log, &c.tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: start the daemon %s: %w", command[0], err)
	}
	c.cmd = cmd
	go func() { c.err = cmd.Wait(); close(c.done) }()
	return c, nil
}

// freePort returns a loopback address nobody listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cpu reads the child's process_cpu_seconds_total.
func (c *child) cpu(ctx context.Context) (time.Duration, error) {
	fams, err := metrics.Scrape(ctx, c.base+"/metrics")
	if err != nil {
		return 0, err
	}
	v, ok := metrics.Value(fams, "process_cpu_seconds_total")
	if !ok {
		return 0, errors.New("loadgen: the daemon does not report process_cpu_seconds_total")
	}
	return time.Duration(v * float64(time.Second)), nil
}

func (c *child) stop() (int64, error) {
	select {
	case <-c.done:
		return 0, fmt.Errorf("loadgen: the daemon exited during the run (%v); its log ends with:\n%s", c.err, c.tail.String())
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return 0, errors.New("loadgen: the daemon did not stop within 30 s of SIGTERM")
	}
	_, peak := childUsage(c.cmd.ProcessState)
	if c.err != nil {
		return peak, fmt.Errorf("loadgen: the daemon exited with %v", c.err)
	}
	return peak, nil
}

// waitReady waits until every /readyz of the daemon answers 200.
func waitReady(ctx context.Context, d runningDaemon) error {
	for _, u := range d.metricsURLs() {
		if err := waitReadyAt(ctx, d, u); err != nil {
			return err
		}
	}
	return nil
}

func waitReadyAt(ctx context.Context, d runningDaemon, base string) error {
	exited := d.exited()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = string(bytes.TrimSpace(body))
		}
		select {
		case <-exited:
			return fmt.Errorf("loadgen: the daemon exited before it was ready; %s", d.lastWords())
		case <-ctx.Done():
			return fmt.Errorf("loadgen: the daemon is not ready after 30 s: %s", last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
