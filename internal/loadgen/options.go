// Package loadgen measures attestd as its operators judge it: it delivers
// requests to the service mailbox, waits for every reply, and reports
// throughput, the latency from the APPEND of a request to the SMTP relay's
// acceptance of its reply, the daemon's CPU time and peak memory, and the
// count of each outcome. `attestd bench` is its command line.
//
// # What runs where
//
// The load generator hosts the mail servers: an IMAP server (localmail's,
// or the one of a configuration file) and an SMTP sink of its own that
// notes each reply's In-Reply-To, outcome and time of acceptance and keeps
// nothing else. The daemon is either a child process (`attestd run` with a
// generated configuration: Options.Command), so that its CPU time and peak
// memory are its own, or runs in this process (Command nil), where those
// figures include the servers and the load generator. Either way it serves
// its metrics on a loopback port, and the generator reads the outcomes, the
// daemon's CPU time and its readiness there, as an operator would.
//
// # Two runs
//
// A sustained run delivers Options.N requests, at Options.Rate per second or
// all at once, and waits until the daemon has filed them all. An idle run
// (Options.Idle > 0) delivers single requests, each after the daemon has
// been idle for Options.IdleGap, and times each reply.
package loadgen

import (
	"errors"
	"io"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

// Options describe one run. The zero value of each field is a sensible
// default (see withDefaults).
type Options struct {
	// N is how many requests a sustained run delivers. Default 1000.
	N int
	// Rate is the offered load in requests per second; 0: all at once,
	// as fast as the mailbox takes them.
	Rate float64
	// Idle, when > 0, makes this an idle run of that many single requests
	// instead of a sustained run.
	Idle int
	// IdleGap is the shortest pause before each request of an idle run;
	// each pause is drawn between IdleGap and 1.5 IdleGap. Default 200 ms.
	IdleGap time.Duration
	// Requests is the mix, cycled through. Default: the sample requests.
	Requests []samples.Request
	// Expected says which requests of the mix get no reply (an idle run
	// sends only those that do). Default: the samples' expected.json.
	Expected *samples.Expected
	// Today is the date the rules run at. Default: expected.json's.
	Today rules.Date
	// Workers is the daemon's `workers`; 0: its default (daemon.DefaultWorkers).
	Workers int
	// Command runs the daemon as a child process: the attestd binary and
	// "run", to which --config and --today are added. nil: in process.
	Command []string
	// IMAP, when not nil, is a configuration whose imap section (server,
	// credentials, mailbox, folders, timings) replaces the embedded IMAP
	// server, and whose workers setting is used when Workers is 0.
	// Replies still go to the generator's SMTP sink, and the store is a
	// temporary SQLite with the sample registry.
	IMAP *config.Config
	// Log receives the daemon's log (JSON lines). nil: discarded.
	Log io.Writer
	// Timeout bounds the wait for the daemon to file everything after the
	// last delivery. Default 2 minutes.
	Timeout time.Duration
	// Postgres, when set, is the DSN of a PostgreSQL database: the run's
	// store is a schema of its own there (made at the start, dropped at
	// the end) instead of a temporary SQLite file.
	Postgres string
	// Replicas is how many daemons share the store and the mailboxes,
	// each a child process of its own (Command set); several need
	// Postgres. Default 1.
	Replicas int
	// Mailboxes is how many mailboxes of the embedded IMAP server the
	// requests are dealt to in turn, each an entry of imap.mailboxes (one:
	// the single mailbox of the imap section, as before). Default 1.
	Mailboxes int
}

// check says what is wrong with a combination of options.
func (o Options) check() error {
	switch {
	case o.Replicas > 1 && o.Postgres == "":
		return errors.New("loadgen: several replicas share one store: give a PostgreSQL DSN")
	case o.Replicas > 1 && o.Command == nil:
		return errors.New("loadgen: several replicas run as child processes, not in process")
	case o.Mailboxes > 1 && o.IMAP != nil:
		return errors.New("loadgen: several mailboxes are the embedded IMAP server's; a configuration's server has one")
	case o.Mailboxes > 1 && o.Command == nil:
		return errors.New("loadgen: several mailboxes need the daemon as a child process (each password is in its environment)")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.N <= 0 {
		o.N = 1000
	}
	if o.IdleGap <= 0 {
		o.IdleGap = 200 * time.Millisecond
	}
	if o.Requests == nil {
		o.Requests = samples.Requests()
		if o.Expected == nil {
			o.Expected = samples.ExpectedCases()
		}
	}
	if o.Today.IsZero() {
		if o.Expected != nil && o.Expected.Today != "" {
			if d, err := rules.ParseDate(o.Expected.Today); err == nil {
				o.Today = d
			}
		}
		if o.Today.IsZero() {
			o.Today = rules.DateOf(time.Now())
		}
	}
	if o.Workers == 0 && o.IMAP != nil {
		o.Workers = o.IMAP.Workers
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	o.Replicas = max(o.Replicas, 1)
	o.Mailboxes = max(o.Mailboxes, 1)
	return o
}
