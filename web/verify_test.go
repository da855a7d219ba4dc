package web_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

// signingEnv is an env whose attestations carry a signed code, with /verify
// trusting its key.
func signingEnv(t testing.TB, run bool) *env {
	t.Helper()
	priv, pub, err := seal.GenerateKey(rand.Reader, "CPAM", "", rules.MustDate("2026-01-01"), rules.Date{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	privFile, pubFile := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing.pub.pem")
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return newEnv(t, run, func(c *config.Config) {
		c.Signing.KeyFile = privFile
		c.HTTP.VerifyKeys = []string{pubFile}
		c.HTTP.VerifyPerMinute = 1000
	})
}

// signedFamily asks the API for the Peigne family and returns the PDF and
// its code.
func signedFamily(t testing.TB, e *env) (pdf []byte, code string) {
	t.Helper()
	a := callAPI(t, e, apiToken, `{"nir":"`+benoitNIR+`","family":true}`)
	if a.status != http.StatusOK {
		t.Fatalf("API: %d %s", a.status, a.body)
	}
	code, err := pdftext.ReadCode(a.body)
	if err != nil {
		t.Fatal(err)
	}
	return a.body, code
}

func postVerify(t testing.TB, e *env, body io.Reader, contentType string) (int, string) {
	t.Helper()
	resp, err := http.Post(e.web.URL+"/verify", contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

func TestVerifyPage(t *testing.T) {
	e := signingEnv(t, false)
	pdf, code := signedFamily(t, e)
	_, page := postVerify(t, e, strings.NewReader(url.Values{"code": {code}}.Encode()), "application/x-www-form-urlencoded")
	for _, want := range []string{"Signature valide", "LUCAS PEIGNE", "LEA PEIGNE"} {
		if !strings.Contains(page, want) {
			t.Errorf("valid code: page lacks %q", want)
		}
	}
	changed := strings.Replace(code, "BPLUCAS", "BPLUCAZ", 1)
	if changed == code {
		t.Fatal("the code does not hold BPLUCAS")
	}
	_, page = postVerify(t, e, strings.NewReader(url.Values{"code": {changed}}.Encode()), "application/x-www-form-urlencoded")
	if !strings.Contains(page, "Signature invalide") || strings.Contains(page, "LUCAZ") {
		t.Errorf("changed code: not said invalid, or its content shown")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("pdf", "attestation.pdf")
	fw.Write(pdf)
	mw.Close()
	if _, page = postVerify(t, e, &buf, mw.FormDataContentType()); !strings.Contains(page, "Signature valide") {
		t.Errorf("uploaded PDF: not said valid")
	}
}

func TestVerifyRateLimited(t *testing.T) {
	e := newEnv(t, false, func(c *config.Config) {
		c.HTTP.VerifyPerMinute = 2
		c.HTTP.VerifyKeys = []string{writePublicKey(t)}
	})
	e.serveWeb(t, func() time.Time { return today.Time().Add(10 * time.Hour) }) // one window
	var codes []int
	for range 3 {
		code, _ := postVerify(t, e, strings.NewReader("code=x"), "application/x-www-form-urlencoded")
		codes = append(codes, code)
	}
	if codes[0] != http.StatusOK || codes[2] != http.StatusTooManyRequests {
		t.Errorf("statuses %v, want 200 200 429", codes)
	}
}

func writePublicKey(t testing.TB) string {
	_, pub, err := seal.GenerateKey(rand.Reader, "CPAM", "", rules.MustDate("2026-01-01"), rules.Date{})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "k.pub.pem")
	if err := os.WriteFile(f, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
