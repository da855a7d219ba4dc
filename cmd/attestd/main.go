// Command attestd answers requests for the attestation de droits à
// l'assurance maladie that arrive by mail.
//
// Usage:
//
//	attestd demo [--once] [--out DIR] [--today YYYY-MM-DD]   the whole service on in-process servers
//	attestd run --config FILE [--today YYYY-MM-DD]           the daemon
//	attestd check-config --config FILE                       checks a configuration file
//	attestd registry import [--db FILE] REGISTRY.json        loads the insured registry
//	attestd render --nir NIR [...] -o FILE.pdf               writes one attestation
//	attestd keys generate --out DIR                          the key pair of the signed 2D code
//	attestd verify --keys FILE (FILE.pdf | --code STRING)    checks an attestation's signed code
//	attestd outbox list|retry                                replies waiting or refused
//	attestd acceptance --cases DIR --imap URL --replies URL  mail-based acceptance tests
//	attestd bench                                            load generator
//
// Each command has --help. Exit status: 0 on success, 1 on error, 3 when
// render is refused by the rules; verify: 1 when the signature does not
// hold, 2 when the PDF carries no code.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

func commands() []command {
	return []command{
		{"demo", "run the whole service on in-process IMAP and SMTP servers with the sample data", cmdDemo},
		{"run", "run the daemon with a configuration file", cmdRun},
		{"check-config", "check a configuration file and name the wrong key", cmdCheckConfig},
		{"registry", "registry import: load the insured registry (attestd-registry/1)", cmdRegistry},
		{"render", "write the attestation of one compte, as the rules allow", cmdRender},
		{"keys", "keys generate: the key pair that signs the attestations' 2D code", cmdKeys},
		{"verify", "check the signed 2D code of an attestation (PDF or code)", cmdVerify},
		{"outbox", "outbox list|retry: replies waiting or refused by the SMTP server", cmdOutbox},
		{"acceptance", "deliver the sample cases to a deployment and check the replies", cmdAcceptance},
		{"bench", "load generator: throughput and latency of the whole pipeline", cmdBench},
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:])
			if err == nil {
				return 0
			}
			var ee *exitError
			if errors.As(err, &ee) {
				if ee.err != nil {
					fmt.Fprintln(os.Stderr, "attestd "+c.name+": "+ee.err.Error())
				}
				return ee.code
			}
			if errors.Is(err, errHelp) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "attestd "+c.name+": "+err.Error())
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "attestd: unknown command %q; run attestd --help for the list\n", args[0])
	return 1
}

func usage() {
	var b strings.Builder
	b.WriteString("attestd answers requests for the attestation de droits that arrive by mail.\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun attestd COMMAND --help for the options of a command.\n")
	fmt.Fprint(os.Stderr, b.String())
}
