package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cpam/attestd/rules"
)

// chromium finds Debian's chromium; the browser test is skipped without
// it (.ci/run installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on this machine (apt-get install -y chromium): browser test skipped")
	return ""
}

// shots writes the screenshots to a temporary directory (printed), and also
// to $ATTESTD_SCREENSHOTS when set (docs/ for the README).
type shots struct {
	dir, out string
}

func (s shots) take(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t) // 100: PNG
		if err != nil {
			return err
		}
		for _, dir := range []string{s.dir, s.out} {
			if dir != "" {
				if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// text reads the text of the first element sel matches into *into.
func text(sel string, into *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		*into, err = chromedp.Text(chromedp.CSS(sel))(ctx, t)
		return err
	})
}

// removeCSRF takes the CSRF tokens out of the page's forms, as a forged
// form would lack them.
func removeCSRF() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[int](`(() => { document.querySelectorAll('main input[name=csrf]').forEach(e => e.remove()); return 0 })()`)(ctx, t)
		return err
	})
}

type css = chromedp.CSS

// startBrowser starts chromium on url and returns the context of its tab,
// with a timeout, and where its screenshots go. Everything stops with the
// test.
func startBrowser(t *testing.T, exe, url string) (context.Context, shots) {
	dir, err := os.MkdirTemp("", "attestd-screenshots-") // kept for a look after the test
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first action starts the browser: no timeout on its context.
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx, shots{dir: dir, out: os.Getenv("ATTESTD_SCREENSHOTS")}
}

// TestBrowserConsole drives the console in a real browser: log in, the
// dashboard, a Manual message opened and retried until its attestation
// goes out, a search by reference, a form without its CSRF token refused,
// and a viewer who is not offered the retry.
func TestBrowserConsole(t *testing.T) {
	exe := chromium(t)
	e, failed, other := manualMessages(t)

	ctx, s := startBrowser(t, exe, e.web.URL+"/login")
	base := e.web.URL

	msg := base + "/messages/" + strconv.FormatInt(failed.ID, 10)
	login := func(name, pw string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(css("#name"), name),
			chromedp.SendKeys(css("#password"), pw),
			chromedp.Click(css("main button[type=submit]")),
			chromedp.WaitVisible(css("#queue-depth")),
		)
	}
	var manualCount, outcome string
	err := chromedp.Do(ctx,
		chromedp.WaitVisible(css("#name")), s.take("login"),
		login("alice", "alice-pw"),
		text("#manual-count", &manualCount), s.take("dashboard"),
		chromedp.Navigate(base+"/manual"), chromedp.WaitVisible(css("table")), s.take("manual"),
		chromedp.Click(css(`a[href="/messages/`+strconv.FormatInt(failed.ID, 10)+`"]`)),
		chromedp.WaitVisible(css("#retry")), s.take("message"),
		chromedp.SendKeys(css("#retry-comment"), "registre revenu"),
		chromedp.Click(css("#retry")),
		chromedp.WaitVisible(css(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if manualCount != "2" {
		t.Errorf("dashboard counts %q messages to handle, want 2", manualCount)
	}
	issued := e.waitEntry(t, "req-001.2094@example.org", "Processed")
	sent, err := e.smtp.Wait(ctx, 2)
	if err != nil || !strings.Contains(string(sent[1].Raw), "application/pdf") {
		t.Fatalf("no attestation sent after the retry: %v", err)
	}
	var search, refused string
	err = chromedp.Do(ctx,
		chromedp.Navigate(msg), text("#outcome", &outcome), s.take("message-retried"),
		chromedp.Navigate(base+"/search"), chromedp.SendKeys(css("#q"), issued.Reference),
		chromedp.Submit(css("#q")), chromedp.WaitVisible(css("table")),
		text("main", &search), s.take("search"),
		chromedp.Navigate(base+"/outbox"), chromedp.WaitVisible(css("table")), s.take("outbox"),
		// A form whose CSRF token was taken out is refused.
		chromedp.Navigate(base+"/messages/"+strconv.FormatInt(other.ID, 10)), chromedp.WaitVisible(css("#handled")),
		removeCSRF(),
		chromedp.SendKeys(css("#comment"), "sans jeton"),
		chromedp.Click(css("#handled")),
		chromedp.WaitVisible(css(".error")), text(".error", &refused), s.take("csrf-refused"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(outcome, string(rules.Issued)) {
		t.Errorf("after the retry the message page says %q, want issued", outcome)
	}
	if !strings.Contains(search, "Processed") || !strings.Contains(search, issued.Reference) {
		t.Errorf("search by reference shows:\n%s", search)
	}
	if !strings.Contains(refused, "CSRF") {
		t.Errorf("form without CSRF token: %q, want the refusal", refused)
	}
	var viewerPage string
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/"), chromedp.Click(css("header button[type=submit]")),
		chromedp.WaitVisible(css("#name")),
		login("victor", "victor-pw"),
		chromedp.Navigate(base+"/messages/"+strconv.FormatInt(other.ID, 10)), chromedp.WaitVisible(css("#outcome")),
		text("main", &viewerPage), s.take("viewer"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(viewerPage, "Votre rôle (lecteur) ne permet pas") || strings.Contains(viewerPage, "Décider à nouveau") {
		t.Errorf("the viewer's message page offers actions:\n%s", viewerPage)
	}
}

// TestBrowserVerify: the public page, without log-in, says valid for the
// code of a signed attestation and invalid once one character is changed.
func TestBrowserVerify(t *testing.T) {
	exe := chromium(t)
	e := signingEnv(t, false)
	_, code := signedFamily(t, e)
	changed := strings.Replace(code, "BPLUCAS", "BPLUCAZ", 1)
	ctx, s := startBrowser(t, exe, e.web.URL+"/verify")
	var valid, invalid string
	check := func(code, shot string, into *string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(e.web.URL+"/verify"), chromedp.WaitVisible(css("#code")),
			// SetValue: the code holds the GS and US separators, which no
			// keyboard types.
			chromedp.SetValue(css("#code"), code), chromedp.Click(css("#check")),
			chromedp.WaitVisible(css("#verdict")), text("main", into), s.take(shot),
		)
	}
	if err := chromedp.Do(ctx, check(code, "verify-valid", &valid), check(changed, "verify-invalid", &invalid)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(valid, "Signature valide") || !strings.Contains(valid, "LUCAS PEIGNE") {
		t.Errorf("the genuine code is not said valid:\n%s", valid)
	}
	if !strings.Contains(invalid, "Signature invalide") || strings.Contains(invalid, "LUCAZ") {
		t.Errorf("the changed code is not said invalid:\n%s", invalid)
	}
}
