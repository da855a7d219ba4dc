//go:build linux

// Command floorcmp measures attestd against the floor (internal/perf/floor),
// the least possible responder, on the same real servers with the same
// requests, in one run, and prints both with their ratios (issue 14,
// docs/performance.md). .ci/perf.sh starts Dovecot and Mailpit, writes the
// configuration and runs it.
//
//	floorcmp compare [flags] -- attestd run --config FILE --today 2026-11-25
//	floorcmp floor [flags]     # the floor alone (compare runs it as a child)
//	floorcmp probe [flags]     # one probe run against whatever answers
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cpam/attestd/internal/perf/floor"
	"github.com/cpam/attestd/internal/perf/loadprobe"
	"github.com/cpam/attestd/samples"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	switch os.Args[1] {
	case "floor":
		err = cmdFloor(ctx, os.Args[2:])
	case "probe":
		err = cmdProbe(ctx, os.Args[2:])
	case "compare":
		err = cmdCompare(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floorcmp:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: floorcmp compare [flags] -- RESPONDER ARGS... | floor [flags] | probe [flags]")
	os.Exit(2)
}

// servers are the mail servers both responders and the probe use.
type servers struct {
	imap, user, passEnv, mailbox, smtpHost, mailpit string
	smtpPort                                        int
}

func (s *servers) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.imap, "imap", "127.0.0.1:10143", "IMAP server (Dovecot), plain text")
	fs.StringVar(&s.user, "user", "attestation@cpam.example", "IMAP user")
	fs.StringVar(&s.passEnv, "pass-env", "ATTESTD_TEST_IMAP_PASSWORD", "environment variable holding the IMAP password")
	fs.StringVar(&s.mailbox, "mailbox", "INBOX", "the service mailbox")
	fs.StringVar(&s.smtpHost, "smtp-host", "127.0.0.1", "SMTP relay (Mailpit) host, for the floor")
	fs.IntVar(&s.smtpPort, "smtp-port", 10025, "SMTP relay port, for the floor")
	fs.StringVar(&s.mailpit, "mailpit", "http://127.0.0.1:18025", "Mailpit's API, where the probe reads the replies")
}

func (s *servers) password() string { return os.Getenv(s.passEnv) }

func cmdFloor(ctx context.Context, args []string) error {
	var s servers
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	s.flags(fs)
	poll := fs.Duration("poll", 20*time.Millisecond, "NOOP interval; 0: IDLE")
	_ = fs.Parse(args)
	return floor.Run(ctx, floor.Options{
		IMAP: s.imap, User: s.user, Password: s.password(), Mailbox: s.mailbox,
		SMTPHost: s.smtpHost, SMTPPort: s.smtpPort, Poll: *poll,
		Ready: func() { fmt.Println(readyLine) },
	})
}

// readyLine is what the floor prints once it answers.
const readyLine = "floor: ready"

func cmdProbe(ctx context.Context, args []string) error {
	var s servers
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	s.flags(fs)
	n := fs.Int("n", 100, "requests to send")
	rate := fs.Float64("rate", 0, "requests per second (0: as fast as possible)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the replies")
	_ = fs.Parse(args)
	res, err := loadprobe.Run(ctx, s.probe(*n, *rate, *timeout))
	if err != nil {
		return err
	}
	fmt.Println(res)
	return nil
}

func (s *servers) probe(n int, rate float64, timeout time.Duration) loadprobe.Options {
	return loadprobe.Options{
		IMAP: s.imap, User: s.user, Password: s.password(), Mailbox: s.mailbox, Mailpit: s.mailpit,
		Requests: answeredRequests(), N: n, Rate: rate, Timeout: timeout,
	}
}

// answeredRequests are the sample requests that get a reply (a reply_to in
// expected.json), in file-name order.
func answeredRequests() [][]byte {
	exp := samples.ExpectedCases()
	var out [][]byte
	for _, r := range samples.Requests() {
		if c, ok := exp.Cases[r.Name]; ok && c.ReplyTo != nil {
			out = append(out, r.Raw)
		}
	}
	return out
}
