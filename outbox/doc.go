// Package outbox composes attestd's replies and sends them over SMTP.
//
// # Composing
//
// [Compose] turns a [Reply] into the complete RFC 5322 message that the
// durable outbox stores once and sends, possibly several times after
// temporary failures. The same Reply gives the same bytes: the Message-ID is
// derived from a caller-given unique token, and the MIME boundaries are
// derived from the content (see boundary.go), so a stored reply can be
// recomposed and compared.
//
// The headers follow SPEC section 7 and RFC 3834 (automatic responses):
// Auto-Submitted: auto-replied, X-Auto-Response-Suppress: All, In-Reply-To
// and References to the request, a Message-ID on the service domain, the
// X-Attestation-Outcome header and the loop marker [LoopHeader].
//
// # Sending
//
// [Sender] delivers stored raw bytes to a relay with go-mail's smtp client,
// reusing one connection across messages; [Pool] holds several Senders so
// that replies go out side by side, each on a connection of its own. Every failure comes back as a
// [*SendError] whose Temporary field is decided in one place (errors.go):
// 4xx replies and network trouble are temporary, 5xx replies are permanent.
// When to try again and when to give up is package queue's (its RetryPolicy).
package outbox
