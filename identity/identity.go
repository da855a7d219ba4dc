// Package identity tells who asks (SPEC section 2): the channel a message
// came by (direct, the secure-messaging gateway, an agent), the compte it
// is about, and the one address its reply may go to.
//
// # The reply-address invariant
//
// A reply carrying personal data goes only to an address the registry holds
// for the compte, to the gateway, or to an agent: [Identity.ReplyTo] is
// that address, set here and nowhere else.
package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cpam/attestd/request"
	"github.com/cpam/attestd/rules"
)

// Channel is how a message reached the service (SPEC section 2).
type Channel string

// The three mail channels, and the HTTP API's (issue 13).
const (
	ChannelDirect  Channel = "direct"
	ChannelGateway Channel = "gateway"
	ChannelAgent   Channel = "agent"
	ChannelAPI     Channel = "api"
)

// Registry is the part of the store identity needs.
type Registry interface {
	ComptesByEmail(ctx context.Context, email string) ([]*rules.Compte, error)
	CompteByNIR(ctx context.Context, nir string) (*rules.Compte, error)
}

// Identity is who asks, and where the answer may go.
type Identity struct {
	Channel Channel
	// Outcome is set when no single compte could be established:
	// sender_unverified, sender_unknown, sender_ambiguous or nir_invalid.
	Outcome rules.Outcome
	Compte  *rules.Compte
	// ReplyTo is the only address the reply may go to: the address on
	// file, the gateway, or the agent. Empty: no reply at all.
	ReplyTo string
	// ReplyHeaders are set on the reply (the gateway's routing header).
	ReplyHeaders map[string]string
	// Named are the beneficiaries named by their own NIRs (agent, gateway),
	// unless that is the ouvrant droit alone: the request is then for them
	// by default.
	Named []*rules.Beneficiary
}

// Assertions are what a message asserts about who sends it, as far as
// identity needs to know: its From address and whether it is authenticated,
// the gateway's header, and what its text says (NIRs, the author's own
// NIR, birth date and names).
type Assertions struct {
	From          string   // lower-cased address of From
	Authenticated bool     // see mailauth.Authenticator
	GatewayNIRs   []string // values of the gateway header
	NIRs          []request.FoundNIR
	AuthorNIR     string
	AuthorBirth   rules.Date
	AuthorNames   []string
}

// Identifier resolves who asks (SPEC section 2).
type Identifier struct {
	Registry       Registry
	AgentDomains   []string
	AgentAddresses []string
	GatewayDomain  string
	GatewayHeader  string
}

// ChannelOf tells the channel from the From address alone.
func (id *Identifier) ChannelOf(from string) Channel {
	domain := DomainOf(from)
	switch {
	case id.GatewayDomain != "" && strings.EqualFold(domain, id.GatewayDomain):
		return ChannelGateway
	case slices.ContainsFunc(id.AgentAddresses, func(a string) bool { return strings.EqualFold(a, from) }),
		slices.ContainsFunc(id.AgentDomains, func(d string) bool { return strings.EqualFold(d, domain) }):
		return ChannelAgent
	}
	return ChannelDirect
}

// DomainOf is the domain of an address, lower-cased.
func DomainOf(addr string) string {
	return strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
}

// Identify establishes the compte. An error is an internal failure (the
// registry could not be read), to be retried.
func (id *Identifier) Identify(ctx context.Context, c Assertions) (Identity, error) {
	ch := id.ChannelOf(c.From)
	out := Identity{Channel: ch}
	if !c.Authenticated {
		out.Outcome = rules.SenderUnverified
		return out, nil
	}
	switch ch {
	case ChannelGateway:
		return id.gateway(ctx, c, out)
	case ChannelAgent:
		return id.agent(ctx, c, out)
	}
	return id.direct(ctx, c, out)
}

func (id *Identifier) direct(ctx context.Context, c Assertions, out Identity) (Identity, error) {
	comptes, err := id.Registry.ComptesByEmail(ctx, c.From)
	if err != nil {
		return out, fmt.Errorf("identity: look up the sender: %w", err)
	}
	out.ReplyTo = c.From
	switch len(comptes) {
	case 0:
		out.Outcome = rules.SenderUnknown
		return out, nil
	case 1:
		out.Compte = comptes[0]
		out.ReplyTo = comptes[0].Email
		return out, nil
	}
	var match []*rules.Compte
	for _, cpt := range comptes {
		if describes(cpt.Holder(), c) {
			match = append(match, cpt)
		}
	}
	if len(match) != 1 {
		out.Outcome = rules.SenderAmbiguous
		return out, nil
	}
	out.Compte = match[0]
	out.ReplyTo = match[0].Email
	return out, nil
}

// describes reports whether what the author says of himself fits b: his
// NIR, his date of birth, or his first name.
func describes(b *rules.Beneficiary, c Assertions) bool {
	if b == nil {
		return false
	}
	if c.AuthorNIR != "" && c.AuthorNIR == b.NIR {
		return true
	}
	if slices.ContainsFunc(c.NIRs, func(n request.FoundNIR) bool { return n.Valid && n.Normalized == b.NIR }) {
		return true
	}
	if !c.AuthorBirth.IsZero() {
		return c.AuthorBirth == b.DateNaissance
	}
	first := rules.FoldName(b.Prenom)
	return slices.ContainsFunc(c.AuthorNames, func(n string) bool { return rules.FoldName(n) == first })
}

func (id *Identifier) gateway(ctx context.Context, c Assertions, out Identity) (Identity, error) {
	out.ReplyTo = c.From
	if len(c.GatewayNIRs) != 1 {
		// None, or a second header added beside the signed one: the
		// gateway writes exactly one.
		out.Outcome = rules.SenderUnverified
		out.ReplyTo = ""
		return out, nil
	}
	out.ReplyHeaders = map[string]string{id.GatewayHeader: strings.TrimSpace(c.GatewayNIRs[0])}
	nir, err := rules.CheckNIR(c.GatewayNIRs[0])
	if err != nil {
		out.Outcome = rules.NIRInvalid
		return out, nil
	}
	return id.byNIRs(ctx, []string{nir}, out)
}

// agent: the insured is named by NIRs written in the message (subject, the
// agent's text, the forwarded message). The decision, documented in the
// README:
//   - no NIR with its key, or a 15-character NIR whose key does not check
//     (a typo, whatever else the message holds): nir_invalid. A 13-character
//     NIR without its key is not looked up and otherwise ignored: insured
//     persons often write theirs so in the message the agent forwards;
//   - a valid NIR the registry does not know: sender_unknown (no partial
//     answer for the others);
//   - NIRs of several comptes: sender_ambiguous, one request per insured;
//   - NIRs of one compte: that compte, and the beneficiaries named by NIR
//     are the ones asked for unless the text says otherwise.
func (id *Identifier) agent(ctx context.Context, c Assertions, out Identity) (Identity, error) {
	out.ReplyTo = c.From
	var valid []string
	for _, n := range c.NIRs {
		switch {
		case n.Valid && !slices.Contains(valid, n.Normalized):
			valid = append(valid, n.Normalized)
		case !n.Valid && len(n.Normalized) == 15:
			out.Outcome = rules.NIRInvalid
			return out, nil
		}
	}
	if len(valid) == 0 {
		out.Outcome = rules.NIRInvalid
		return out, nil
	}
	return id.byNIRs(ctx, valid, out)
}

// byNIRs establishes the compte named by valid NIRs: one compte holds them
// all, or the outcome says why not (an unknown NIR, NIRs of several
// comptes).
func (id *Identifier) byNIRs(ctx context.Context, nirs []string, out Identity) (Identity, error) {
	var found *rules.Compte
	for _, nir := range nirs {
		cpt, err := id.Registry.CompteByNIR(ctx, nir)
		if err != nil {
			return out, fmt.Errorf("identity: look up the NIR: %w", err)
		}
		if cpt == nil {
			out.Outcome = rules.SenderUnknown
			return out, nil
		}
		if found != nil && found.ID != cpt.ID {
			out.Outcome = rules.SenderAmbiguous
			return out, nil
		}
		found = cpt
	}
	out.Compte = found
	out.Named = named(found, nirs)
	return out, nil
}

// named returns the beneficiaries of c whose NIRs are listed, unless that
// is the ouvrant droit alone (whom a request names by default).
func named(c *rules.Compte, nirs []string) []*rules.Beneficiary {
	var out []*rules.Beneficiary
	for i := range c.Beneficiaries {
		if b := &c.Beneficiaries[i]; b.NIR != "" && slices.Contains(nirs, b.NIR) {
			out = append(out, b)
		}
	}
	if len(out) == 1 && out[0] == c.Holder() {
		return nil
	}
	return out
}
