// Command attestd answers requests for the attestation de droits à
// l'assurance maladie that arrive by mail.
//
// The commands, their flags and the exit statuses are listed by
// `attestd --help` and `attestd COMMAND --help`, made from the command
// table (commands.go), and described in docs/commands.md.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses (docs/commands.md).
const (
	exitOK      = 0
	exitFailed  = 1  // the command failed while working: a server, the store, a file
	exitUsage   = 2  // the command line is wrong: unknown command or flag, a missing argument
	exitRefused = 3  // render: the rules refuse the attestation
	exitNoCode  = 4  // verify: the PDF carries no signed code
	exitConfig  = 78 // the configuration is wrong (sysexits.h EX_CONFIG): restarting will not help
)

// exitError carries a specific exit status; err nil: nothing more to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a wrong command line: exit status 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// configError marks err as a configuration error: exit status 78.
func configError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitConfig, err: err}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	table := commands()
	if len(args) == 0 {
		usage(stderr, table, "")
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout, table, "")
		return exitOK
	case "--version", "-version":
		printVersion(stdout)
		return exitOK
	}
	c, rest, group := lookup(table, args)
	if c == nil {
		if group != "" {
			if len(args) > 1 && isHelp(args[1]) {
				usage(stdout, table, group)
				return exitOK
			}
			fmt.Fprintf(stderr, "attestd %s: say which: %s\n", group, strings.Join(verbs(table, group), ", "))
			usage(stderr, table, group)
			return exitUsage
		}
		fmt.Fprintf(stderr, "attestd: unknown command %q; run attestd --help for the list\n", args[0])
		return exitUsage
	}
	err := c.run(c, rest)
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	code := exitFailed
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "attestd %s: %v\n", c.name, err)
	if code == exitUsage {
		fmt.Fprintf(stderr, "run attestd %s --help for the usage\n", c.name)
	}
	return code
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// verbs returns the second words of the commands of a group.
func verbs(table []*command, group string) []string {
	var out []string
	for _, c := range inGroup(table, group) {
		out = append(out, strings.TrimPrefix(c.name, group+" "))
	}
	return out
}

// usage writes the list of commands, or of one group's, from the table.
func usage(w io.Writer, table []*command, group string) {
	var b strings.Builder
	if group == "" {
		b.WriteString("attestd answers requests for the attestation de droits that arrive by mail.\n\n")
	}
	b.WriteString("Usage:\n")
	for _, c := range inGroup(table, group) {
		fmt.Fprintf(&b, "  %s\n      %s\n", c.line(), c.summary)
	}
	if group == "" {
		b.WriteString("  attestd --version\n  attestd --help\n")
		b.WriteString("\nRun attestd COMMAND --help for the flags of a command. " +
			"--config FILE is always the configuration file of attestd run.\n" +
			"Exit status: 0 done, 1 error, 2 wrong command line, 3 render refused by the rules, " +
			"4 verify found no signed code, 78 configuration error (docs/commands.md).\n")
	}
	fmt.Fprint(w, b.String())
}
