package mailauth

import (
	"bufio"
	"bytes"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

// Authenticator tells whether a message really comes from the domain of its
// From address (SPEC section 2, "authenticated").
//
// Two proofs are accepted: the Authentication-Results headers written by a
// trusted receiving server (its authserv-id is configured; headers with any
// other authserv-id are ignored), or a DKIM signature that attestd verifies
// itself.
type Authenticator struct {
	// TrustedIDs are the authserv-ids of the receiving servers we believe.
	TrustedIDs []string
	// LookupTXT fetches DKIM keys; nil: DNS. Tests and closed networks
	// inject keys here.
	LookupTXT func(domain string) ([]string, error)
}

// Authenticated reports whether the message raw, whose header values of
// Authentication-Results are given, comes from fromDomain. mustSign lists
// header fields that a DKIM signature must cover to count (e.g. the gateway's
// NIR header); the trusted server's verdict covers the message as received.
//
// Every Authentication-Results header carrying a trusted authserv-id must
// pass: a sender can write such a header himself, above or below the real
// one, but cannot remove the real one, so a forgery never turns a failure
// into a pass.
//
// A message whose header holds more than one From field, or a From with
// more than one address, is never authenticated: a verifier (ours, or the
// receiving server's DMARC) may judge one From while attestd reads another.
func (a *Authenticator) Authenticated(raw []byte, authResults []string, fromDomain string, mustSign []string) bool {
	if !singleFrom(raw) {
		return false
	}
	fromDomain = strings.ToLower(fromDomain)
	trusted := 0
	allPass := true
	for _, v := range authResults {
		id, results, err := authres.Parse(v)
		if err != nil || !a.trusts(id) {
			continue
		}
		trusted++
		if !passes(results, fromDomain) {
			allPass = false
		}
	}
	if trusted > 0 && allPass {
		return true
	}
	if trusted > 0 {
		return false
	}
	return a.verifyDKIM(raw, fromDomain, mustSign)
}

// singleFrom reports whether the header of raw has exactly one From field
// holding exactly one address.
func singleFrom(raw []byte) bool {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return false
	}
	if n := len(h.Values("From")); n != 1 {
		return false
	}
	list, err := (&mail.Header{Header: message.Header{Header: h}}).AddressList("From")
	return err == nil && len(list) == 1
}

func (a *Authenticator) trusts(id string) bool {
	return slices.ContainsFunc(a.TrustedIDs, func(t string) bool { return strings.EqualFold(t, strings.TrimSpace(id)) })
}

// passes reads one trusted header: dmarc=pass for the From domain, or a
// dkim=pass aligned with it.
func passes(results []authres.Result, fromDomain string) bool {
	for _, r := range results {
		switch r := r.(type) {
		case *authres.DMARCResult:
			if r.Value == authres.ResultPass && (r.From == "" || Aligned(r.From, fromDomain)) {
				return true
			}
		case *authres.DKIMResult:
			d := r.Domain
			if d == "" && r.Identifier != "" {
				d = r.Identifier[strings.LastIndexByte(r.Identifier, '@')+1:]
			}
			if r.Value == authres.ResultPass && Aligned(d, fromDomain) {
				return true
			}
		}
	}
	return false
}

// Aligned is DMARC's relaxed alignment, approximated without the public
// suffix list: one domain equals the other or is a subdomain of it.
func Aligned(d, from string) bool {
	d, from = strings.ToLower(strings.TrimSuffix(d, ".")), strings.ToLower(strings.TrimSuffix(from, "."))
	if d == "" || from == "" {
		return false
	}
	return d == from || strings.HasSuffix(from, "."+d) || strings.HasSuffix(d, "."+from)
}

func (a *Authenticator) verifyDKIM(raw []byte, fromDomain string, mustSign []string) bool {
	if !bytes.Contains(raw, []byte("DKIM-Signature")) && !bytes.Contains(bytes.ToLower(raw), []byte("dkim-signature")) {
		return false
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: a.LookupTXT, MaxVerifications: 5})
	if err != nil && len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		if v.Err != nil || !Aligned(v.Domain, fromDomain) {
			continue
		}
		if covers(v.HeaderKeys, "From") && !slices.ContainsFunc(mustSign, func(h string) bool { return !covers(v.HeaderKeys, h) }) {
			return true
		}
	}
	return false
}

func covers(keys []string, h string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(strings.TrimSpace(k), h) })
}
