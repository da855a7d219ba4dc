package acceptance_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"github.com/cpam/attestd/internal/acceptance"
	"github.com/cpam/attestd/samples"
)

func headerOf(t *testing.T, raw []byte, key string) string {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, raw)
	}
	defer r.Close()
	return r.Header.Get(key)
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	for _, r := range samples.Requests() {
		if r.Name == name {
			return r.Raw
		}
	}
	t.Fatalf("no sample %s", name)
	return nil
}

func TestStampGivesTheRequestItsOwnMessageIDAndKeepsTheOriginal(t *testing.T) {
	raw := sample(t, "20-agent-transfert.eml")
	got, id := acceptance.Stamp(raw, "run1", "20-agent-transfert.eml")

	if want := "req-020.2382.acc-run1@agents.cpam.example"; id != want {
		t.Errorf("new Message-ID %q, want %q", id, want)
	}
	if h := headerOf(t, got, "Message-Id"); h != "<"+id+">" {
		t.Errorf("Message-ID header %q, want <%s>", h, id)
	}
	note := headerOf(t, got, acceptance.NoteHeader)
	if want := "run=run1; case=20-agent-transfert.eml; original=<req-020.2382@agents.cpam.example>"; note != want {
		t.Errorf("%s: %q, want %q", acceptance.NoteHeader, note, want)
	}
	if n := bytes.Count(bytes.ToLower(got), []byte("\nmessage-id:")) + bytes.Count(bytes.ToLower(got[:11]), []byte("message-id:")); n != 2 {
		t.Errorf("%d Message-ID fields, want 2 (the request's and the forwarded message's)", n)
	}
	if !bytes.Contains(got, []byte("<req-090.1200@example.fr>")) {
		t.Error("the forwarded message lost its own Message-ID")
	}
	if strings.Contains(string(got), "<req-020.2382@agents.cpam.example>\r\n") && !strings.Contains(note, "req-020") {
		t.Error("the original Message-ID is still a header of its own")
	}
	// Everything but the Message-ID field is unchanged.
	orig := strings.Replace(string(raw), "Message-ID: <req-020.2382@agents.cpam.example>\r\n", "", 1)
	stamped := strings.Replace(string(got), "Message-ID: <"+id+">\r\n"+acceptance.NoteHeader+": "+note+"\r\n", "", 1)
	if orig != stamped {
		t.Error("Stamp changed more than the Message-ID field")
	}
}

func TestStampGivesEachRunItsOwnMessageID(t *testing.T) {
	raw := sample(t, "01-eva-simple.eml")
	_, a := acceptance.Stamp(raw, "aaa", "01")
	_, b := acceptance.Stamp(raw, "bbb", "01")
	if a == b {
		t.Errorf("two runs share the Message-ID %s", a)
	}
}

func TestStampAddsAMessageIDWhenThereIsNone(t *testing.T) {
	raw := []byte("From: a@example.org\nSubject: attestation\n\nBonjour\n")
	got, id := acceptance.Stamp(raw, "r", "x.eml")
	if h := headerOf(t, got, "Message-Id"); h != "<"+id+">" || !strings.HasSuffix(id, "@attestd.invalid") {
		t.Errorf("Message-ID %q (returned %q), want one on attestd.invalid", h, id)
	}
	if note := headerOf(t, got, acceptance.NoteHeader); note != "run=r; case=x.eml" {
		t.Errorf("note %q", note)
	}
	if !bytes.HasSuffix(got, []byte("Subject: attestation\n\nBonjour\n")) || bytes.Contains(got, []byte("\r")) {
		t.Errorf("LF line endings not kept:\n%q", got)
	}
}

func TestStampReplacesAFoldedMessageID(t *testing.T) {
	raw := []byte("From: a@example.org\r\nMessage-Id:\r\n  <long.id@example.org>\r\nSubject: s\r\n\r\nMessage-ID: <in-body@example.org>\r\n")
	got, id := acceptance.Stamp(raw, "r", "x.eml")
	if id != "long.id.acc-r@example.org" {
		t.Errorf("id %q", id)
	}
	want := "From: a@example.org\r\nMessage-ID: <long.id.acc-r@example.org>\r\n" + acceptance.NoteHeader +
		": run=r; case=x.eml; original=<long.id@example.org>\r\nSubject: s\r\n\r\nMessage-ID: <in-body@example.org>\r\n"
	if string(got) != want {
		t.Errorf("Stamp =\n%q\nwant\n%q", got, want)
	}
}

func TestSampleCasesHoldEverySample(t *testing.T) {
	c := acceptance.SampleCases()
	if len(c.List) != len(samples.Requests()) || len(c.List) != 22 {
		t.Fatalf("%d cases, want the 22 samples", len(c.List))
	}
	if c.Expected.Today != "2026-11-25" || c.Expected.ServiceAddress != "attestation@cpam.example" {
		t.Errorf("expected.json settings %q %q", c.Expected.Today, c.Expected.ServiceAddress)
	}
	for _, k := range c.List {
		if k.Want.Outcome == "" || k.Want.Folder == "" {
			t.Errorf("%s: case %+v", k.Name, k.Want)
		}
	}
}

func TestLoadCasesNamesWhatDoesNotMatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.eml", "From: a@example.org\r\n\r\nx\r\n")
	write("b.eml", "From: b@example.org\r\n\r\nx\r\n")
	write("expected.json", `{"today": "2026-11-25", "cases": {
		"a.eml": {"outcome": "issued", "reply_to": "a@example.org", "folder": "Processed"},
		"c.eml": {"outcome": "issued", "reply_to": null, "folder": "Manual"}}}`)
	_, err := acceptance.LoadCases(dir)
	if err == nil {
		t.Fatal("LoadCases accepted a request without case and a case without request")
	}
	for _, want := range []string{"b.eml has no case", "c.eml, which is not in the directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	write("expected.json", `{"today": "2026-11-25", "cases": {
		"a.eml": {"outcome": "issued", "reply_to": "a@example.org", "folder": "Processed"},
		"b.eml": {"outcome": "suppressed", "reply_to": null, "folder": "Processed"}}}`)
	c, err := acceptance.LoadCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.List) != 2 || c.List[0].Name != "a.eml" || *c.List[0].Want.ReplyTo != "a@example.org" || c.List[1].Want.ReplyTo != nil {
		t.Errorf("cases %+v", c.List)
	}
}

func TestLoadCasesWithoutExpectedJSONSaysSo(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.eml"), []byte("From: a@example.org\r\n\r\nx\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := acceptance.LoadCases(dir); err == nil || !strings.Contains(err.Error(), "expected.json") {
		t.Errorf("LoadCases without expected.json: %v", err)
	}
}
