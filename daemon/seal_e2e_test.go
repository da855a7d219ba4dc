package daemon_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/seal"
)

// signingKey writes a key pair in a temporary directory and returns the
// private key file and the ring that trusts the public key.
func signingKey(t *testing.T) (string, seal.KeyRing) {
	t.Helper()
	priv, pub, err := seal.GenerateKey(rand.Reader, "CPAM", "E2E1", rules.MustDate("2026-01-01"), rules.MustDate("2028-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "attestd-signing.pem")
	if err := os.WriteFile(f, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := seal.ParsePublicKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	return f, ring
}

// TestSignedSamples delivers every sample request to a daemon configured
// with a signing key: the PDF of every issued reply carries a code that
// verifies and names the beneficiaries expected.json lists, and the log says
// once that attestations are signed.
func TestSignedSamples(t *testing.T) {
	env := newLocalEnv(t)
	keyFile, ring := signingKey(t)
	cfg := testConfig(t)
	cfg.Signing = config.SigningConfig{KeyFile: keyFile}
	d := start(t, env, cfg, daemon.Options{})
	reqs := samples.Requests()
	for _, r := range reqs {
		env.deliver(t, r.Raw)
	}
	d.collect(t, len(reqs), 60*time.Second)
	var want [][]string
	for _, c := range samples.ExpectedCases().Cases {
		if c.Outcome == string(rules.Issued) {
			var names []string
			for _, b := range c.Beneficiaries {
				names = append(names, seal.Fold(b))
			}
			want = append(want, names)
		}
	}
	var got [][]string
	for _, m := range env.sent(t) {
		rp := readReply(t, m)
		if rp.pdf == nil {
			continue
		}
		code, err := pdftext.ReadCode(rp.pdf)
		if err != nil {
			t.Fatalf("%s: %v", rp.pdfName, err)
		}
		v, err := ring.Verify(code, today)
		if err != nil {
			t.Fatalf("%s: %v", rp.pdfName, err)
		}
		var names []string
		for _, b := range v.Content.Beneficiaries {
			names = append(names, b.Prenom)
		}
		got = append(got, names)
	}
	key := func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) }
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("the codes name\n%v\nexpected.json\n%v", got, want)
	}
	d.stop()
	if n := strings.Count(d.logs.String(), "attestations carry a signed 2D code"); n != 1 {
		t.Errorf("the log says %d times that attestations are signed", n)
	}
}

func TestUnsignedDaemonSaysSoOnce(t *testing.T) {
	env := newLocalEnv(t)
	d := start(t, env, testConfig(t), daemon.Options{})
	env.deliver(t, samples.Requests()[0].Raw)
	d.collect(t, 1, 60*time.Second)
	pdfs := 0
	for _, m := range env.sent(t) {
		if rp := readReply(t, m); rp.pdf != nil {
			pdfs++
			if _, err := pdftext.ReadCode(rp.pdf); !errors.Is(err, pdftext.ErrNoCode) {
				t.Errorf("an unsigned daemon's attestation: %v", err)
			}
		}
	}
	d.stop()
	if pdfs == 0 {
		t.Fatal("no attestation sent")
	}
	if n := strings.Count(d.logs.String(), "attestations carry no signed 2D code: signing.key_file is not set"); n != 1 {
		t.Errorf("the log says %d times that attestations are unsigned", n)
	}
}

func TestCheckConfigSigning(t *testing.T) {
	keyFile, _ := signingKey(t)
	base := "service: {address: attestation@cpam.example, domain: cpam.example}\nimap: {username: svc, password_env: HOME}\ntrust: {authserv_ids: [mx.example]}\n"
	for yaml, wantErr := range map[string]string{
		"signing: {key_file: " + keyFile + "}\n":                             "",
		"signing: {key_file: " + keyFile + ", key_id: E2E1, issuer: CPAM}\n": "",
		"signing: {key_file: " + keyFile + ", key_id: OTHR}\n":               "signing.key_file",
		"signing: {key_file: /nonexistent/key.pem}\n":                        "signing.key_file",
		"signing: {pdf_certificate: " + keyFile + "}\n":                      "signing.pdf_certificate",
		"signing: {key_id: E2E1}\n":                                          "signing.key_file",
	} {
		_, err := config.Parse([]byte(base + yaml))
		var ce *config.Error
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", yaml, err)
		case wantErr != "" && (!errors.As(err, &ce) || ce.Key != wantErr):
			t.Errorf("%s: %v, want an error naming %s", yaml, err, wantErr)
		}
	}
}
