package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"

	"github.com/cpam/attestd/config"
	"gopkg.in/yaml.v3"
)

func cmdCheckConfig(c *command, args []string) error {
	fs := c.flags()
	cfgPath := fs.String("config", "", configHelp("the file to check"))
	print := fs.Bool("print", false, "print the effective settings, defaults applied and secrets masked, as YAML")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageErrorf("--config FILE is required")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *print {
		return printConfig(os.Stdout, *cfgPath, cfg)
	}
	fmt.Println("configuration OK:", *cfgPath)
	return nil
}

// printConfig writes cfg as the YAML attestd run would read to the same
// effect: every key, defaults included, with secrets masked. Passwords are
// never in the file (password_file and password_env name where they are);
// what can hold one is a PostgreSQL store.dsn.
func printConfig(w io.Writer, path string, cfg config.Config) error {
	cfg.Store.DSN = maskDSN(cfg.Store.DSN)
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "# attestd %s: effective configuration of %s (defaults applied, secrets masked)\n%s",
		readBuildInfo().Version, path, b)
	return err
}

const masked = "xxxxx"

// dsnPassword finds a password in a key=value connection string.
var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// maskDSN hides the password of a store DSN: the one of a URL
// (postgres://user:secret@host/db) and the password= of a key=value string.
func maskDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), masked)
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", masked)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}"+masked)
}
