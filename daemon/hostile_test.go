package daemon_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// The hostile-input tests of SPEC section 9: each hostile message gets its
// outcome, and the request delivered right after it is still answered.

const evaRequest = "Bonjour,\r\n\r\nPouvez-vous m'envoyer mon attestation de droits ?\r\n\r\nMerci,\r\nEva Dupont\r\n"

// evaMessage is a request from Eva, authenticated by the trusted receiving
// server, with the given Message-ID ("" for none), extra header lines and
// body (which starts with its own Content-Type lines, then a blank line).
func evaMessage(id, subject, headerAndBody string) []byte {
	var b strings.Builder
	b.WriteString("From: Eva Dupont <eva.dupont@example.org>\r\nTo: attestation@cpam.example\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	b.WriteString("Date: Wed, 25 Nov 2026 09:31:00 +0100\r\n")
	if id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	}
	b.WriteString("Authentication-Results: mx.attestation.example; dkim=pass header.d=example.org;\r\n" +
		" spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org\r\nMIME-Version: 1.0\r\n")
	b.WriteString(headerAndBody)
	return []byte(b.String())
}

func plain(charset, cte, body string) string {
	return fmt.Sprintf("Content-Type: text/plain; charset=%q\r\nContent-Transfer-Encoding: %s\r\n\r\n%s", charset, cte, body)
}

// nested wraps a request in depth multipart/mixed levels.
func nested(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString(plain("utf-8", "8bit", evaRequest))
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "\r\n--b%d--\r\n", i)
	}
	return b.String()
}

// manyParts is a multipart/mixed of n parts, the request first.
func manyParts(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n--p\r\n")
	b.WriteString(plain("utf-8", "8bit", evaRequest))
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "\r\n--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("\r\n--p--\r\n")
	return b.String()
}

type hostileCase struct {
	name    string
	id      string // its Message-ID; "" for none
	raw     []byte
	outcome rules.Outcome
	folder  string
	// replies is how many replies the request gets: 1 with an outcome that
	// has one.
	replies int
	// copies delivers the message that many times (default once).
	copies int
	check  func(t *testing.T, db *store.DB, res daemon.Result, replies []sentMail)
}

func hostileCases() []hostileCase {
	const maxBytes = 6 << 20
	crlfSubject := "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte("Attestation de droits\r\nBcc: victim@evil.example\r\nX-Injected: yes")) + "?="
	return []hostileCase{
		{
			name:    "over the size limit",
			id:      "big@hostile.test",
			raw:     evaMessage("big@hostile.test", "Attestation de droits", plain("utf-8", "8bit", evaRequest+strings.Repeat("x", maxBytes)+"\r\n")),
			outcome: rules.Rejected, folder: "Quarantine",
			check: func(t *testing.T, db *store.DB, res daemon.Result, _ []sentMail) {
				c, err := db.Claim(context.Background(), res.Key, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := db.ClaimRaw(context.Background(), c.ID)
				if err != nil || len(raw) != 0 {
					t.Errorf("the message over the limit was downloaded and kept (%d bytes, %v)", len(raw), err)
				}
			},
		},
		{
			name: "1,000 nested multiparts",
			id:   "nested@hostile.test",
			raw:  evaMessage("nested@hostile.test", "Attestation de droits", nested(1000)),
			// The request text is beyond max_mime_depth: the subject
			// alone asks for the attestation.
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "10,000 parts",
			id:      "parts@hostile.test",
			raw:     evaMessage("parts@hostile.test", "Attestation de droits", manyParts(10000)),
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "a 5 MB single line",
			id:      "line@hostile.test",
			raw:     evaMessage("line@hostile.test", "Attestation de droits", plain("utf-8", "8bit", evaRequest+strings.Repeat("a", 5_000_000)+"\r\n")),
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "NUL bytes",
			id:      "nul@hostile.test",
			raw:     evaMessage("nul@hostile.test", "Attestation\x00 de droits", plain("utf-8", "8bit", "\x00\x00"+strings.ReplaceAll(evaRequest, "attestation", "attestation\x00")+"\x00")),
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "an unknown charset",
			id:      "charset@hostile.test",
			raw:     evaMessage("charset@hostile.test", "=?x-klingon?q?Attestation_de_droits?=", plain("x-klingon", "8bit", evaRequest)),
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "invalid base64",
			id:      "base64@hostile.test",
			raw:     evaMessage("base64@hostile.test", "Attestation de droits", plain("utf-8", "base64", base64.StdEncoding.EncodeToString([]byte(evaRequest))+"\r\n!!!*** not base64 ***\r\n")),
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "invalid quoted-printable",
			id:      "qp@hostile.test",
			raw:     evaMessage("qp@hostile.test", "Attestation de droits", plain("utf-8", "quoted-printable", strings.ReplaceAll(evaRequest, "Merci", "Merci =ZZ =\xff =4")+"=")),
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "CR/LF in the subject",
			id:      "crlf@hostile.test",
			raw:     evaMessage("crlf@hostile.test", crlfSubject, plain("utf-8", "8bit", evaRequest)),
			outcome: rules.Issued, folder: "Processed", replies: 1,
			check: func(t *testing.T, _ *store.DB, _ daemon.Result, replies []sentMail) {
				rp := readReply(t, replies[0])
				subject, err := rp.header.Subject()
				if err != nil || strings.ContainsAny(subject, "\r\n") || !strings.HasPrefix(subject, "Re: Attestation de droits") {
					t.Errorf("reply Subject %q (%v): want one line", subject, err)
				}
				if rp.header.Has("Bcc") || rp.header.Has("X-Injected") {
					t.Errorf("the subject's line breaks made header fields of the reply: Bcc %q, X-Injected %q",
						rp.header.Get("Bcc"), rp.header.Get("X-Injected"))
				}
				if !slices.Equal(replies[0].To, []string{"eva.dupont@example.org"}) {
					t.Errorf("reply sent to %v", replies[0].To)
				}
			},
		},
		{
			name:    "no Message-ID, twice",
			raw:     evaMessage("", "Attestation de droits", plain("utf-8", "8bit", evaRequest)),
			copies:  2,
			outcome: rules.Issued, folder: "Processed", replies: 1,
		},
		{
			name:    "nothing readable",
			id:      "unreadable@hostile.test",
			raw:     evaMessage("unreadable@hostile.test", "", "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n"),
			outcome: rules.Rejected, folder: "Quarantine",
		},
		{
			name:    "no header at all",
			raw:     []byte("\x00\x01\x02 this is not mail\r\n"),
			outcome: rules.Rejected, folder: "Quarantine",
		},
	}
}

// TestHostileInput delivers each hostile message followed by an ordinary
// request, and checks both.
func TestHostileInput(t *testing.T) {
	for _, hc := range hostileCases() {
		t.Run(hc.name, func(t *testing.T) {
			env := newLocalEnv(t)
			db := sampledb.SQLite(t)
			cfg := reliabilityConfig(t)
			cfg.Limits.MaxMessageBytes = 6 << 20
			r := start(t, env, cfg, daemon.Options{Store: db})
			copies := max(hc.copies, 1)
			for range copies {
				env.deliver(t, hc.raw)
			}
			next := sample(t, "05-marc-sans-adresse.eml", "next-"+strings.ReplaceAll(hc.name, " ", "-")+"@hostile.test")
			env.deliver(t, next.raw)
			results := r.collect(t, copies+1, 60*time.Second)
			// The ledger's key of a message without a Message-ID is a digest,
			// and of one not downloaded its UID: match on the request after.
			var got []daemon.Result
			for _, res := range results {
				if res.MessageID != next.id {
					got = append(got, res)
				}
			}
			if len(got) != copies {
				t.Fatalf("%d results for the hostile message, want %d: %+v", len(got), copies, results)
			}
			if got[0].Outcome != hc.outcome && (copies == 1 || got[1].Outcome != hc.outcome) {
				t.Errorf("outcome %s (%s), want %s", got[0].Outcome, got[0].Detail, hc.outcome)
			}
			replies := repliesByRequest(t, env)
			mine := replies[hc.id] // "" when it has no Message-ID: no In-Reply-To
			if len(mine) != hc.replies {
				t.Errorf("%d replies, want %d", len(mine), hc.replies)
			}
			folders := folderIDs(t, env)
			if n := len(env.folder(t, hc.folder)) - countID(folders[hc.folder], next.id); n != copies {
				t.Errorf("%d hostile messages in %s, want %d (folders %v)", n, hc.folder, copies, folders)
			}
			if len(folders["INBOX"]) != 0 {
				t.Errorf("INBOX still holds %d messages", len(folders["INBOX"]))
			}
			checkResults(t, []req{next}, slices.DeleteFunc(results, func(res daemon.Result) bool { return res.MessageID != next.id }))
			if len(replies[next.id]) != 1 {
				t.Errorf("the request after the hostile one got %d replies, want one", len(replies[next.id]))
			}
			if hc.check != nil && len(mine) == hc.replies {
				hc.check(t, db, got[0], mine)
			}
		})
	}
}

func countID(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}
