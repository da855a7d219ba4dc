package main

import (
	"slices"
	"strings"
)

// command is one entry of the command table: the only place a command's
// name, arguments and summary are written. The usage of attestd, of a
// command group ("attestd outbox") and of each command (--help) are all
// made from it, and docs/commands.md is checked against it.
type command struct {
	// name is one or more words: "run", "outbox list".
	name string
	// args is the synopsis after the name, as a usage line shows it.
	args string
	// summary is one line: what the command does.
	summary string
	// run parses args (what follows the name) and does the work.
	run func(c *command, args []string) error
}

// commands is the command table, in the order the usage lists them.
func commands() []*command {
	return []*command{
		{"demo", "[--once] [--out DIR] [--today YYYY-MM-DD] [--requests DIR] [--registry FILE] [--config FILE] [--http ADDR]",
			"run the whole service on in-process IMAP and SMTP servers with the sample data", cmdDemo},
		{"run", "--config FILE [--today YYYY-MM-DD] [--log-level LEVEL]",
			"run the daemon (SIGHUP reloads the registry file and the reply templates)", cmdRun},
		{"check-config", "--config FILE [--print]",
			"check a configuration file and name the wrong key; --print shows the effective settings", cmdCheckConfig},
		{"registry import", "[--config FILE | --db FILE [--driver sqlite|postgres]] REGISTRY.json",
			"load the insured registry (attestd-registry/1), all or nothing", cmdRegistryImport},
		{"render", "[--config FILE | --db FILE] [--signing-key FILE] --nir NIR [--beneficiary FIRSTNAME]... [--family] [--etm] [--c2s] [--today YYYY-MM-DD] -o FILE.pdf",
			"write the attestation of one compte, as the rules allow", cmdRender},
		{"keys generate", "--out DIR [--issuer ID] [--key-id ID] [--valid-from YYYY-MM-DD] [--valid-until YYYY-MM-DD]",
			"make the key pair that signs the attestations' 2D code", cmdKeysGenerate},
		{"verify", "--keys FILE [--keys FILE]... [--today YYYY-MM-DD] (FILE.pdf | --code STRING)",
			"check the signed 2D code of an attestation (PDF or code)", cmdVerify},
		{"outbox list", "[--config FILE | --db FILE] [--all]",
			"list the replies waiting or refused by the SMTP server", cmdOutboxList},
		{"outbox retry", "[--config FILE | --db FILE] ID",
			"queue a refused or waiting reply again, with a fresh budget of attempts", cmdOutboxRetry},
		{"acceptance", "--imap URL --replies URL [--cases DIR] [--smtp URL] [--registry FILE] [--timeout 60s]",
			"deliver the sample cases to a deployment and check the replies", cmdAcceptance},
		{"bench", "[--n N] [--rate R] [--idle N] [--workers W] [--config FILE] [--in-process] [--replicas N[,N...] [--postgres DSN] [--mailboxes M]] [--json] [--api [--duration D]]",
			"load generator: throughput and latency of the whole pipeline, or with --api of POST /v1/attestations", cmdBench},
		{"console hash-password", "[--bcrypt] < PASSWORD",
			"print the argon2id (or bcrypt) hash of a console password read on standard input (console.users)", cmdConsoleHashPassword},
		{"console api-token", "",
			"print a new API token and its SHA-256 (api.clients)", cmdConsoleAPIToken},
		{"healthcheck", "[--config FILE | --address HOST:PORT] [--ready] [--timeout 5s]",
			"ask a running daemon's health endpoint; exit 0 when healthy, 1 otherwise", cmdHealthcheck},
		{"version", "",
			"print the version and the VCS revision attestd was built from", cmdVersion},
	}
}

// line is the command's usage line: "attestd outbox list [--all]".
func (c *command) line() string {
	return strings.TrimSpace("attestd " + c.name + " " + c.args)
}

// lookup finds the command args start with, the longest name first, and
// returns it with the arguments after its name. With no match, group is
// the first word when it starts a multi-word command ("outbox").
func lookup(table []*command, args []string) (c *command, rest []string, group string) {
	best := 0
	for _, cmd := range table {
		words := strings.Fields(cmd.name)
		if len(words) > len(args) || len(words) <= best {
			continue
		}
		if slices.Equal(words, args[:len(words)]) {
			c, best = cmd, len(words)
		}
	}
	if c != nil {
		return c, args[best:], ""
	}
	for _, cmd := range table {
		if first, _, multi := strings.Cut(cmd.name, " "); multi && len(args) > 0 && first == args[0] {
			return nil, nil, first
		}
	}
	return nil, nil, ""
}

// inGroup returns the commands whose first word is group; all of them when
// group is "".
func inGroup(table []*command, group string) []*command {
	if group == "" {
		return table
	}
	var out []*command
	for _, c := range table {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, c)
		}
	}
	return out
}
