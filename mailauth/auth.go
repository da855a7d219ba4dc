// Package mailauth tells whether a message really comes from the domain of
// its From address (SPEC section 2, "authenticated"): from the
// Authentication-Results headers of a trusted receiving server, or from a
// DKIM signature attestd verifies itself.
//
// Everything in it fails closed: what it cannot read (a header, a trusted
// server's results, a From, a DKIM signature of the From domain) is a
// failure, never something skipped.
package mailauth

import (
	"bufio"
	"bytes"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Authenticator tells whether a message comes from the domain of its From.
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

// Result is the answer of Check.
type Result struct {
	Pass bool
	// Reason says why not, for the operator's log: a fixed text, never
	// what the message holds.
	Reason string
}

func fail(why string) Result { return Result{Reason: why} }

// Check reports whether the message raw comes from the domain of from, the
// address attestd acts on (lower case, as inbox read it). mustSign lists
// header fields that a DKIM signature must cover to count (e.g. the
// gateway's NIR header); the trusted server's verdict covers the message as
// received.
//
// Every Authentication-Results header that carries a trusted authserv-id
// must pass (see judge for what passes). A sender can write such a header
// himself, above or below the real one, but cannot remove the real one,
// so a forgery never turns a failure into a pass. The authserv-id is read
// apart from the results (AuthservID), so that a trusted header whose
// results do not parse, wholly or in part, is a failure and not a header
// skipped; a header whose very start does not parse counts as trusted, and
// failed, when a trusted id appears anywhere in it.
//
// Without any trusted header, a DKIM signature verified here decides (see
// verifyDKIM): the receiving server is expected to add its header on top of
// every message, so the signature is for servers that add none.
//
// The message fails when its header does not parse, or when it holds more
// than one From field, a From with more than one address, or a From other
// than from: a verifier (ours, or the receiving server's DMARC) may judge
// one From while attestd reads another.
func (a *Authenticator) Check(raw []byte, from string, mustSign []string) Result {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return fail("the header does not parse")
	}
	fromDomain, why := singleFrom(h, from)
	if why != "" {
		return fail(why)
	}
	if found, res := a.trustedResults(h, fromDomain); found {
		return res
	}
	return a.verifyDKIM(raw, h, fromDomain, mustSign)
}

// trustedResults judges the headers of the trusted servers; found is false
// when there is none.
func (a *Authenticator) trustedResults(h textproto.Header, fromDomain string) (found bool, res Result) {
	for _, v := range h.Values("Authentication-Results") {
		if !a.Trusted(v) {
			continue
		}
		found = true
		_, rest, err := AuthservID(v)
		if err != nil {
			return true, fail("an Authentication-Results header naming a trusted server does not parse")
		}
		results, err := parseResults(rest)
		if err != nil {
			return true, fail("a trusted Authentication-Results header does not parse")
		}
		if ok, why := judge(results, fromDomain); !ok {
			return true, fail(why)
		}
	}
	return found, Result{Pass: found}
}

// Trusted reports whether the Authentication-Results field value v is
// taken as a trusted server's: its authserv-id is one of TrustedIDs (case
// aside), or its start does not parse (see AuthservID) and a trusted id
// appears anywhere in it, white space aside.
func (a *Authenticator) Trusted(v string) bool {
	id, _, err := AuthservID(v)
	if err != nil {
		return a.mentionsTrusted(v)
	}
	return slices.ContainsFunc(a.TrustedIDs, func(t string) bool { return strings.EqualFold(t, id) })
}

// mentionsTrusted reports whether a trusted id appears in v, white space
// and case aside.
func (a *Authenticator) mentionsTrusted(v string) bool {
	squeezed := strings.ToLower(strings.Join(strings.Fields(v), ""))
	return slices.ContainsFunc(a.TrustedIDs, func(t string) bool {
		return t != "" && strings.Contains(squeezed, strings.ToLower(t))
	})
}

// singleFrom checks that h has exactly one From field holding exactly one
// address, which is from, and returns its domain (see domainName); why
// says what is wrong otherwise.
func singleFrom(h textproto.Header, from string) (domain, why string) {
	if n := len(h.Values("From")); n != 1 {
		return "", "not exactly one From field"
	}
	list, err := (&mail.Header{Header: message.Header{Header: h}}).AddressList("From")
	if err != nil || len(list) != 1 {
		return "", "the From field does not hold exactly one address"
	}
	addr := list[0].Address
	if from == "" || !strings.EqualFold(addr, from) {
		return "", "the From address differs from the one read"
	}
	if domain = domainName(addr[strings.LastIndexByte(addr, '@')+1:]); domain == "" {
		return "", "the From domain is not a domain name"
	}
	return domain, ""
}
