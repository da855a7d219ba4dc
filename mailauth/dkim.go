package mailauth

import (
	"bytes"
	"slices"
	"strings"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"
)

// maxSignatures bounds the DKIM signatures verified on one message; a
// message with more is not authenticated.
const maxSignatures = 5

// verifyDKIM is the proof without a trusted receiving server: a DKIM
// signature (RFC 6376) that verifies, by a domain aligned with the From
// domain, over From and every field of mustSign. It fails closed:
//
//   - a message with more than maxSignatures signatures, or whose
//     signatures cannot be read at all, fails;
//   - a signature whose domain cannot be read, or a signature of a domain
//     aligned with the From that does not verify (a bad signature, a key
//     not found, a body length tag l=), fails the message, whatever other
//     signatures say;
//   - a signature that verifies fails the message when the header holds
//     more fields of a name it covers than it covers: DKIM signs fields
//     from the bottom, so a copy added above a signed field is read by
//     attestd and was never signed.
//
// Signatures of other domains that do not verify (a mailing list's, say)
// say nothing of the From domain and are left aside.
func (a *Authenticator) verifyDKIM(raw []byte, h textproto.Header, fromDomain string, mustSign []string) Result {
	if !h.Has("Dkim-Signature") {
		return fail("no trusted Authentication-Results header and no DKIM signature")
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: a.LookupTXT, MaxVerifications: maxSignatures})
	if err != nil {
		return fail("the DKIM signatures cannot be verified")
	}
	pass := false
	for _, v := range vs {
		switch {
		case v.Domain == "":
			return fail("a DKIM signature names no domain")
		case !Aligned(v.Domain, fromDomain):
			continue
		case v.Err != nil:
			return fail("a DKIM signature of the From domain does not verify")
		case unsignedCopies(h, v.HeaderKeys):
			return fail("a field covered by the DKIM signature is also there unsigned")
		}
		pass = pass || covers(v.HeaderKeys, "From") && !slices.ContainsFunc(mustSign, func(k string) bool { return !covers(v.HeaderKeys, k) })
	}
	if !pass {
		return fail("no valid DKIM signature of the From domain over the required fields")
	}
	return Result{Pass: true}
}

// unsignedCopies reports whether h holds more fields of a name than the
// signature's h= tag lists.
func unsignedCopies(h textproto.Header, keys []string) bool {
	signed := map[string]int{}
	for _, k := range keys {
		signed[strings.ToLower(strings.TrimSpace(k))]++
	}
	for k, n := range signed {
		if len(h.Values(k)) > n {
			return true
		}
	}
	return false
}

func covers(keys []string, h string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(strings.TrimSpace(k), h) })
}
