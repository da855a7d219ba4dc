package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9464":   "127.0.0.1:9464",
		"0.0.0.0:9464":     "127.0.0.1:9464",
		":9464":            "127.0.0.1:9464",
		"[::]:9464":        "[::1]:9464",
		"metrics.lan:9464": "metrics.lan:9464",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever keeps healthcheck from an answer exits 1, as container
// runtimes expect, and says why.
func TestHealthcheckFailures(t *testing.T) {
	t.Setenv("ATTESTD_TEST_PW", "x")
	noMetrics := filepath.Join(t.TempDir(), "attestd.yaml")
	os.WriteFile(noMetrics, []byte("imap: {username: a@cpam.example, password_env: ATTESTD_TEST_PW}\ntrust: {authserv_ids: [mx.example]}\n"), 0o644)
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"--config", noMetrics}, "no metrics.address"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
		{nil, "give --config FILE or --address HOST:PORT"},
		{[]string{"--bogus"}, "-bogus"},
		{[]string{"--address", "127.0.0.1:1", "--timeout", "2s"}, "no answer"},
	} {
		code, _, stderr := attestd(t, append([]string{"healthcheck"}, tt.args...)...)
		if code != 1 || !strings.Contains(stderr, tt.says) {
			t.Errorf("healthcheck %v: exit %d, %q; want 1 and %q", tt.args, code, stderr, tt.says)
		}
	}
}
