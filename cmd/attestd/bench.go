package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cpam/attestd/internal/loadgen"
)

func cmdBench(c *command, args []string) error {
	fs := c.flags()
	n := fs.Int("n", 1000, "requests of the sustained run (the sample mix, cycled, each with a Message-ID of its own)")
	rate := fs.Float64("rate", 0, "requests per second offered; 0: all at once")
	idle := fs.Int("idle", 0, "instead of a sustained run: this many single requests, each after the daemon idled, timing each reply")
	idleGap := fs.Duration("idle-gap", 200*time.Millisecond, "pause before each request of --idle")
	workers := fs.Int("workers", 0, "the daemon's workers setting (0: its default, the number of CPUs)")
	cfgFile := fs.String("config", "", configHelp("bench takes its imap section and workers, in place of its embedded IMAP server (the store is a throwaway one)"))
	inProcess := fs.Bool("in-process", false, "run the daemon in this process (default: a child `attestd run`, so that its CPU and memory are its own)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	logFile := fs.String("log", "", "write the daemon's log to this file (default: discarded)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process to FILE (with --in-process it covers the daemon)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the daemon after the last delivery")
	var today todayFlag
	fs.Var(&today, "today", "run the rules at this date (default: the samples' date, 2026-11-25)")
	api := benchAPIFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	o := loadgen.Options{N: *n, Rate: *rate, Idle: *idle, IdleGap: *idleGap, Workers: *workers, Today: today.d, Timeout: *timeout}
	if *n <= 0 || *rate < 0 || *idle < 0 || *workers < 0 {
		return usageErrorf("--n must be positive; --rate, --idle and --workers must not be negative")
	}
	if *cfgFile != "" {
		cfg, err := loadConfig(*cfgFile)
		if err != nil {
			return err
		}
		o.IMAP = &cfg
	}
	if !*inProcess {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot find the attestd binary to run the daemon: %w (use --in-process)", err)
		}
		o.Command = []string{exe, "run"}
	}
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Log = f
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *api.on {
		return api.run(ctx, *rate, today.d, *asJSON, o.Log)
	}
	rep, err := loadgen.Run(ctx, o)
	if err != nil {
		return err
	}
	return printReport(os.Stdout, rep, *asJSON)
}

func printReport(w io.Writer, rep *loadgen.Report, asJSON bool) error {
	if !asJSON {
		rep.Print(w)
		return nil
	}
	b, err := rep.JSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
