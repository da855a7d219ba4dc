package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cpam/attestd/internal/loadgen"
)

// benchFlags are the flags of `attestd bench`, one line each in define: a
// kind of run with flags of its own adds its line there and its branch in
// cmdBench.
type benchFlags struct {
	n, idle, workers, mailboxes int
	rate                        float64
	idleGap, timeout            time.Duration
	cfgFile, logFile, cpuProf   string
	postgres                    string
	replicas                    replicaList
	inProcess, asJSON           bool
	today                       todayFlag
	api                         *benchAPI // --api and its flags (bench_api.go)
}

func (b *benchFlags) define(fs *flagSet) {
	fs.IntVar(&b.n, "n", 1000, "requests of the sustained run (the sample mix, cycled, each with a Message-ID of its own)")
	fs.Float64Var(&b.rate, "rate", 0, "requests per second offered; 0: all at once")
	fs.IntVar(&b.idle, "idle", 0, "instead of a sustained run: this many single requests, each after the daemon idled, timing each reply")
	fs.DurationVar(&b.idleGap, "idle-gap", 200*time.Millisecond, "pause before each request of --idle")
	fs.IntVar(&b.workers, "workers", 0, "the daemon's workers setting (0: its default, two per CPU)")
	fs.StringVar(&b.cfgFile, "config", "", configHelp("bench takes its imap section and workers, in place of its embedded IMAP server (the store is a throwaway one)"))
	fs.BoolVar(&b.inProcess, "in-process", false, "run the daemon in this process (default: a child `attestd run`, so that its CPU and memory are its own)")
	fs.Var(&b.replicas, "replicas", "run N daemons sharing a PostgreSQL store and the mailboxes; a list (1,2,3) runs each in turn and compares them (needs --postgres)")
	fs.StringVar(&b.postgres, "postgres", "", "the store on PostgreSQL: the DSN of a database in which each run makes a schema of its own, dropped after (with --replicas, default $ATTESTD_TEST_POSTGRES_DSN; otherwise empty: SQLite)")
	fs.IntVar(&b.mailboxes, "mailboxes", 0, "mailboxes of the embedded IMAP server the requests are dealt to in turn (imap.mailboxes; 0: 2 with --replicas, else 1; --config: its one)")
	fs.BoolVar(&b.asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&b.logFile, "log", "", "write the daemon's log to this file (default: discarded)")
	fs.StringVar(&b.cpuProf, "cpuprofile", "", "write a CPU profile of this process to FILE (with --in-process it covers the daemon)")
	fs.DurationVar(&b.timeout, "timeout", 2*time.Minute, "how long to wait for the daemon after the last delivery")
	fs.Var(&b.today, "today", "run the rules at this date (default: the samples' date, 2026-11-25)")
	b.api = benchAPIFlags(fs)
}

// options are the loadgen options the flags describe, replicas aside.
func (b *benchFlags) options() (loadgen.Options, error) {
	o := loadgen.Options{N: b.n, Rate: b.rate, Idle: b.idle, IdleGap: b.idleGap, Workers: b.workers, Today: b.today.d,
		Timeout: b.timeout, Mailboxes: b.mailboxes}
	if b.n <= 0 || b.rate < 0 || b.idle < 0 || b.workers < 0 || b.mailboxes < 0 {
		return o, usageErrorf("--n must be positive; --rate, --idle, --workers and --mailboxes must not be negative")
	}
	if len(b.replicas) > 0 {
		if b.postgres == "" {
			b.postgres = os.Getenv("ATTESTD_TEST_POSTGRES_DSN")
		}
		if b.postgres == "" {
			return o, usageErrorf("--replicas shares one store between daemons: give --postgres DSN (or set ATTESTD_TEST_POSTGRES_DSN)")
		}
		if b.inProcess {
			return o, usageErrorf("--replicas runs each daemon as a child process: leave out --in-process")
		}
		if b.mailboxes == 0 && b.cfgFile == "" {
			o.Mailboxes = 2
		}
	}
	o.Postgres = b.postgres
	if b.cfgFile != "" {
		cfg, err := loadConfig(b.cfgFile)
		if err != nil {
			return o, err
		}
		o.IMAP = &cfg
	}
	if !b.inProcess {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("cannot find the attestd binary to run the daemon: %w (use --in-process)", err)
		}
		o.Command = []string{exe, "run"}
	}
	return o, nil
}

func cmdBench(c *command, args []string) error {
	fs := c.flags()
	var b benchFlags
	b.define(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	o, err := b.options()
	if err != nil {
		return err
	}
	if b.logFile != "" {
		f, err := os.Create(b.logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Log = f
	}
	if b.cpuProf != "" {
		f, err := os.Create(b.cpuProf)
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
	if *b.api.on {
		return b.api.run(ctx, b.rate, b.today.d, b.asJSON, o.Log)
	}
	if len(b.replicas) == 0 {
		rep, err := loadgen.Run(ctx, o)
		if err != nil {
			return err
		}
		return printReport(os.Stdout, rep, b.asJSON)
	}
	return benchReplicas(ctx, os.Stdout, o, b.replicas, b.asJSON)
}

// benchReplicas makes one run for each number of replicas, in turn, and
// prints each report then a comparison (as JSON: a list of the reports).
func benchReplicas(ctx context.Context, w io.Writer, o loadgen.Options, replicas []int, asJSON bool) error {
	var reps []*loadgen.Report
	for _, n := range replicas {
		o.Replicas = n
		rep, err := loadgen.Run(ctx, o)
		if err != nil {
			return fmt.Errorf("%d replica(s): %w", n, err)
		}
		reps = append(reps, rep)
		if !asJSON {
			rep.Print(w)
			fmt.Fprintln(w)
		}
	}
	if asJSON {
		var list []json.RawMessage
		for _, r := range reps {
			b, err := r.JSON()
			if err != nil {
				return err
			}
			list = append(list, b)
		}
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	loadgen.Compare(w, reps)
	return nil
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

// replicaList reads --replicas N or a list N,M,...
type replicaList []int

func (l *replicaList) String() string {
	var parts []string
	for _, n := range *l {
		parts = append(parts, strconv.Itoa(n))
	}
	return strings.Join(parts, ",")
}

func (l *replicaList) Set(s string) error {
	*l = (*l)[:0]
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 16 {
			return fmt.Errorf("%q: want a number of replicas from 1 to 16, or a list of them (1,2,3)", part)
		}
		*l = append(*l, n)
	}
	return nil
}
