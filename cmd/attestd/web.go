package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/passhash"
	"github.com/cpam/attestd/metrics"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/web"
)

// startWeb serves the console and the API on cfg.HTTP.Address, when set,
// and returns the function that stops it (issue 13).
func startWeb(cfg config.Config, db *store.DB, d *daemon.Daemon, obs daemon.Observer, o serveOptions) (func(), error) {
	if cfg.HTTP.Address == "" {
		return func() {}, nil
	}
	wo := web.Options{Config: cfg, Store: db, Daemon: d, Logger: o.log, Now: o.now}
	if m, ok := obs.(*metrics.Metrics); ok {
		wo.Metrics = m.Registry()
	}
	srv, err := web.New(wo)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	o.log.Info("console and API listening", "address", srv.Addr(), "paths", "/ /v1/attestations /v1/openapi.json")
	if o.webReady != nil {
		o.webReady(srv.Addr())
	}
	return func() { srv.Close() }, nil
}

// cmdConsoleHashPassword reads a password on standard input and prints
// its hash for console.users[].password_hash: argon2id, or bcrypt with
// --bcrypt.
func cmdConsoleHashPassword(c *command, args []string) error {
	fs := c.flags()
	useBcrypt := fs.Bool("bcrypt", false, "print a bcrypt hash (cost 12) instead of argon2id")
	if err := parse(fs, args); err != nil {
		return err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return usageErrorf("no password on standard input (%v)", err)
	}
	h := passhash.Hash(line)
	if *useBcrypt {
		if h, err = passhash.HashBcrypt(line); err != nil {
			return err
		}
	}
	fmt.Println(h)
	return nil
}

// cmdConsoleAPIToken prints a new API token and the SHA-256 to write in
// api.clients[].token_sha256.
func cmdConsoleAPIToken(c *command, args []string) error {
	if err := parse(c.flags(), args); err != nil {
		return err
	}
	tok := randomPassword() + randomPassword()
	fmt.Printf("token:        %s\ntoken_sha256: %s\n", tok, web.TokenSHA256(tok))
	return nil
}
