package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// cmdHealthcheck asks the metrics server of a running daemon whether it is
// alive (/healthz) or ready (/readyz). It is what a container HEALTHCHECK
// runs in an image without a shell or curl. Every failure exits 1, as
// Docker expects, a wrong command line included.
func cmdHealthcheck(c *command, args []string) error {
	fs := c.flags()
	cfgPath := fs.String("config", "", configHelp("healthcheck reads metrics.address"))
	addr := fs.String("address", "", "the metrics server, host:port, instead of the configuration's metrics.address")
	ready := fs.Bool("ready", false, "ask /readyz (IMAP, SMTP and store reachable) instead of /healthz (the process serves)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parse(fs, args); err != nil {
		return unhealthy(err)
	}
	if (*cfgPath == "") == (*addr == "") {
		return unhealthy(fmt.Errorf("give --config FILE or --address HOST:PORT (one of them)"))
	}
	if *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return unhealthy(err)
		}
		if *addr = cfg.Metrics.Address; *addr == "" {
			return unhealthy(fmt.Errorf("%s has no metrics.address: the daemon serves no health endpoint", *cfgPath))
		}
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	body, err := probe(ctx, "http://"+dialable(*addr)+path)
	if err != nil {
		return unhealthy(err)
	}
	fmt.Fprint(os.Stdout, body)
	return nil
}

// unhealthy makes err end the command with status 1.
func unhealthy(err error) error {
	if errors.Is(err, errHelp) {
		return err
	}
	return &exitError{code: exitFailed, err: err}
}

// probe GETs url and returns the body of a 200 answer.
func probe(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// dialable turns a listen address into one to connect to: a server
// listening on every interface (":9464", "0.0.0.0:9464", "[::]:9464") is
// reached on the loopback.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}
