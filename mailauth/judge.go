package mailauth

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Why a trusted header fails, for the operator's log (fixed texts: never
// what the sender wrote).
const (
	whyDMARC      = "the trusted server's DMARC result is not a pass for the From domain"
	whyDKIM       = "a DKIM result of the trusted server is not a pass"
	whyNoAligned  = "no DKIM pass of the trusted server aligned with the From domain"
	whyNoDecision = "the trusted server gives neither a DMARC nor a DKIM result"
	whyAmbiguous  = "a result of the trusted server names its domain twice"
)

// judge decides one trusted header for the From domain fromDomain (lower
// case, see domainName). The policy, so that text the sender slipped into
// a header cannot add a pass beside a fail:
//
//   - Only the methods "dmarc" and "dkim" decide (exact names, any case,
//     a method version allowed); SPF alone proves nothing of the From, and
//     other methods (arc, iprev, auth, unknown ones) are read and ignored.
//   - When the header holds any dmarc result, DMARC alone decides: every
//     dmarc result must be "pass" with exactly one header.from equal to the
//     From domain. Any other value (fail, none, temperror, permerror, a
//     value unknown to attestd such as "bestguesspass") fails.
//   - Otherwise every dkim result must be "pass" (one fail, neutral,
//     policy, temperror, permerror, none or unknown value fails), and at
//     least one must be aligned with the From domain (relaxed alignment,
//     see Aligned): its header.d, or without one the domain of its
//     header.i.
//   - Neither a dmarc nor a dkim result: a failure.
//   - A deciding property written twice in one result (two header.from,
//     two header.d) makes the header fail.
func judge(results []result, fromDomain string) (bool, string) {
	var dmarc, dkim []result
	for _, r := range results {
		switch r.method {
		case "dmarc":
			dmarc = append(dmarc, r)
		case "dkim":
			dkim = append(dkim, r)
		}
	}
	if len(dmarc) > 0 {
		for _, r := range dmarc {
			from := r.values("header.from")
			if len(from) > 1 {
				return false, whyAmbiguous
			}
			if r.value != "pass" || len(from) != 1 || from[0].at || domainName(from[0].text) != fromDomain {
				return false, whyDMARC
			}
		}
		return true, ""
	}
	if len(dkim) == 0 {
		return false, whyNoDecision
	}
	aligned := false
	for _, r := range dkim {
		if r.value != "pass" {
			return false, whyDKIM
		}
		d, ok := signingDomain(r)
		if !ok {
			return false, whyAmbiguous
		}
		aligned = aligned || Aligned(d, fromDomain)
	}
	if !aligned {
		return false, whyNoAligned
	}
	return true, ""
}

// signingDomain is the domain a dkim result is for: header.d, or the
// domain of header.i when there is no header.d ("" when neither can be
// read). ok is false when one of them is written twice.
func signingDomain(r result) (d string, ok bool) {
	ds, is := r.values("header.d"), r.values("header.i")
	switch {
	case len(ds) > 1 || len(is) > 1:
		return "", false
	case len(ds) == 1:
		if ds[0].at {
			return "", true
		}
		return ds[0].text, true
	case len(is) == 1 && is[0].at:
		return is[0].domain, true
	}
	return "", true
}

// Aligned is DMARC's relaxed alignment (RFC 7489 section 3.1): the two
// domains have the same organizational domain, the public suffix plus one
// label, from the public suffix list of golang.org/x/net/publicsuffix. A
// domain that is not an ASCII domain name (see domainName), or that is a
// public suffix itself, is aligned with nothing.
func Aligned(d, from string) bool {
	d, from = domainName(d), domainName(from)
	if d == "" || from == "" {
		return false
	}
	od, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return false
	}
	of, err := publicsuffix.EffectiveTLDPlusOne(from)
	return err == nil && od == of
}

// domainName returns s lower-cased without its final dot when it is a
// domain name of ASCII letters, digits and hyphens (A-labels for
// internationalized names), "" otherwise.
func domainName(s string) string {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if s == "" || len(s) > 253 {
		return ""
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return ""
			}
		}
	}
	return s
}
