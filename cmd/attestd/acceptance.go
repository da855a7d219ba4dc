package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cpam/attestd/internal/acceptance"
	"github.com/cpam/attestd/store"
)

func cmdAcceptance(c *command, args []string) error {
	fs := c.flags()
	casesDir := fs.String("cases", "", "directory of .eml requests and their expected.json (default: the built-in samples)")
	imapURL := fs.String("imap", "", "the service mailbox: imap://USER:PASSWORD@HOST:PORT/INBOX (imaps:// for TLS); requests are appended to it and looked for in its folders. Without a password in the URL: $"+acceptance.EnvIMAPPassword)
	repliesURL := fs.String("replies", "", "where the replies are read: mailpit+http://HOST:PORT (Mailpit's API) or imap://USER:PASSWORD@HOST:PORT/INBOX (a mailbox receiving them; password also from $"+acceptance.EnvRepliesPassword+")")
	smtpURL := fs.String("smtp", "", "deliver by SMTP submission instead of IMAP APPEND: smtp://[USER[:PASSWORD]@]HOST:PORT, smtp+starttls:// or smtps:// (password also from $"+acceptance.EnvSMTPPassword+")")
	regFile := fs.String("registry", "", "the deployment's registry file: replies that must carry no personal data are checked against its names, NIRs and dates (default: against anything that looks like a NIR or a date of birth)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for each case's reply and filing, from its delivery")
	insecure := fs.Bool("insecure", false, "accept any TLS certificate (test servers only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *imapURL == "" || *repliesURL == "" {
		return usageErrorf("--imap URL and --replies URL are required")
	}
	cases := acceptance.SampleCases()
	if *casesDir != "" {
		var err error
		if cases, err = acceptance.LoadCases(*casesDir); err != nil {
			return err
		}
	}
	var reg *store.Registry
	if *regFile != "" {
		b, err := os.ReadFile(*regFile)
		if err != nil {
			return fmt.Errorf("--registry: %w", err)
		}
		if reg, err = store.ParseRegistry(bytes.NewReader(b)); err != nil {
			return fmt.Errorf("--registry %s: %w", *regFile, err)
		}
	}
	var tlsConfig *tls.Config
	if *insecure {
		tlsConfig = &tls.Config{InsecureSkipVerify: true}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	service, err := acceptance.ParseIMAPURL(*imapURL, acceptance.EnvIMAPPassword, os.Getenv)
	if err != nil {
		return fmt.Errorf("--imap: %w", err)
	}
	mbox := acceptance.NewIMAPMailbox(service)
	mbox.TLSConfig = tlsConfig
	defer mbox.Close()
	var inbox acceptance.Inbox = mbox
	if *smtpURL != "" {
		srv, err := acceptance.ParseSMTPURL(*smtpURL, acceptance.EnvSMTPPassword, os.Getenv)
		if err != nil {
			return fmt.Errorf("--smtp: %w", err)
		}
		inbox = &acceptance.SMTPDelivery{Inbox: mbox, Server: srv, To: cases.Expected.ServiceAddress, TLSConfig: tlsConfig}
	}
	replies, closeReplies, err := openReplies(ctx, *repliesURL, tlsConfig)
	if err != nil {
		return fmt.Errorf("--replies: %w", err)
	}
	defer closeReplies()

	fmt.Fprintf(os.Stderr, "attestd acceptance: %d cases to %s/%s; the rules must run at %s (attestd run --today %s)\n",
		len(cases.List), service.Addr, service.Mailbox, cases.Expected.Today, cases.Expected.Today)
	runner := &acceptance.Runner{Inbox: inbox, Replies: replies, Timeout: *timeout, Registry: reg}
	results, err := runner.Run(ctx, cases)
	if err != nil {
		return err
	}
	if _, failed := acceptance.Report(os.Stdout, results); failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%d of %d cases failed", failed, len(results))}
	}
	return nil
}

// openReplies opens the replies source of --replies.
func openReplies(ctx context.Context, raw string, tlsConfig *tls.Config) (acceptance.Replies, func(), error) {
	if strings.HasPrefix(raw, "mailpit+") {
		api, err := acceptance.ParseMailpitURL(raw)
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		mp, err := acceptance.NewMailpitReplies(ctx, api, nil)
		if err != nil {
			return nil, nil, err
		}
		return mp, func() {}, nil
	}
	srv, err := acceptance.ParseIMAPURL(raw, acceptance.EnvRepliesPassword, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	mbox := acceptance.NewIMAPMailbox(srv)
	mbox.TLSConfig = tlsConfig
	return mbox, func() { mbox.Close() }, nil
}
