//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cpam/attestd/internal/perf/loadprobe"
)

// load is one of the three loads of issue 14.
type load struct {
	Name string  `json:"name"`
	N    int     `json:"n"`
	Rate float64 `json:"rate"` // per second; 0: a burst
}

// measured is what one responder did under every load.
type measured struct {
	Runs map[string]*loadprobe.Result `json:"runs"`
	// CPU is the responder's CPU time during each run.
	CPU map[string]time.Duration `json:"cpu_ns"`
	// IdleCPU is the responder's share of one core while no request
	// arrives, over the idle window after the runs.
	IdleCPU float64 `json:"idle_cpu"`
	// PeakRSS is the responder's peak resident memory, in bytes.
	PeakRSS int64 `json:"peak_rss_bytes"`
}

type compareOptions struct {
	srv        servers
	loads      []load
	poll       time.Duration
	timeout    time.Duration
	idleWindow time.Duration
	idleAfter  time.Duration
	ready      string
	settle     time.Duration
	responder  []string
	log        io.Writer
}

func cmdCompare(ctx context.Context, args []string) error {
	var o compareOptions
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	o.srv.flags(fs)
	burst := fs.Int("burst", 1000, "requests of the burst run (0: skip)")
	steady := fs.Int("steady", 500, "requests of the steady run (0: skip)")
	steadyRate := fs.Float64("steady-rate", 50, "requests per second of the steady run")
	idle := fs.Int("idle", 30, "requests of the idle run (0: skip)")
	idleRate := fs.Float64("idle-rate", 2, "requests per second of the idle run")
	fs.DurationVar(&o.poll, "poll", 20*time.Millisecond, "the floor's NOOP interval (0: IDLE)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "how long a run waits for its replies")
	fs.DurationVar(&o.idleWindow, "idle-window", 10*time.Second, "how long the idle CPU is measured, after the runs")
	fs.DurationVar(&o.idleAfter, "idle-after", 10*time.Second, "how long after the last run the idle CPU window starts")
	fs.StringVar(&o.ready, "ready", "", "the responder's readiness URL (attestd's /readyz); empty: wait --settle")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "pause after starting the responder when --ready is empty")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	logFile := fs.String("log", "", "append both responders' output to this file (default: discarded)")
	_ = fs.Parse(args)
	o.log = io.Discard
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		o.log = f
	}
	o.responder = fs.Args()
	if len(o.responder) == 0 {
		return fmt.Errorf("compare: give the responder to compare after --, e.g. -- attestd run --config FILE")
	}
	for _, l := range []load{{"burst", *burst, 0}, {"steady", *steady, *steadyRate}, {"idle", *idle, *idleRate}} {
		if l.N > 0 {
			o.loads = append(o.loads, l)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	floorArgs := append([]string{self, "floor", "--poll", o.poll.String()}, o.srv.args()...)
	fmt.Fprintln(os.Stderr, "floorcmp: measuring the floor")
	fl, err := o.measure(ctx, floorArgs, true)
	if err != nil {
		return fmt.Errorf("the floor: %w", err)
	}
	fmt.Fprintln(os.Stderr, "floorcmp: measuring", o.responder[0])
	at, err := o.measure(ctx, o.responder, false)
	if err != nil {
		return fmt.Errorf("%s: %w", o.responder[0], err)
	}
	if *asJSON {
		b, err := json.MarshalIndent(map[string]any{"loads": o.loads, "floor": fl, "attestd": at}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Printf("%s\n", b)
		return nil
	}
	printTable(os.Stdout, o.loads, fl, at)
	return errors.Join(fl.complete("the floor"), at.complete(o.responder[0]))
}

// complete says which runs lost or duplicated replies: the figures of such
// a run compare nothing.
func (m *measured) complete(who string) error {
	var errs []error
	for name, r := range m.Runs {
		if r.Missing > 0 || r.Duplicates > 0 {
			errs = append(errs, fmt.Errorf("%s, %s run: %d replies missing, %d duplicated", who, name, r.Missing, r.Duplicates))
		}
	}
	return errors.Join(errs...)
}

// args are the server flags, for the floor child.
func (s *servers) args() []string {
	return []string{"--imap", s.imap, "--user", s.user, "--pass-env", s.passEnv, "--mailbox", s.mailbox,
		"--smtp-host", s.smtpHost, "--smtp-port", fmt.Sprint(s.smtpPort), "--mailpit", s.mailpit}
}

// measure starts argv, runs every load against it, measures its idle CPU
// and stops it.
func (o *compareOptions) measure(ctx context.Context, argv []string, isFloor bool) (*measured, error) {
	p, err := start(ctx, argv, isFloor, o.ready, o.settle, o.log)
	if err != nil {
		return nil, err
	}
	defer p.kill()
	m := &measured{Runs: map[string]*loadprobe.Result{}, CPU: map[string]time.Duration{}}
	for _, l := range o.loads {
		before, err := p.cpu()
		if err != nil {
			return nil, err
		}
		res, err := loadprobe.Run(ctx, o.srv.probe(l.N, l.Rate, o.timeout))
		if err != nil {
			return nil, fmt.Errorf("%s run: %w", l.Name, err)
		}
		after, err := p.cpu()
		if err != nil {
			return nil, err
		}
		m.Runs[l.Name], m.CPU[l.Name] = res, after-before
		fmt.Fprintf(os.Stderr, "  %s: %s\n", l.Name, res)
		// Let stragglers drain before the next run empties Mailpit.
		time.Sleep(time.Second)
	}
	if m.IdleCPU, err = p.idleCPU(o.idleAfter, o.idleWindow); err != nil {
		return nil, err
	}
	if m.PeakRSS, err = p.stop(); err != nil {
		return nil, err
	}
	return m, nil
}
