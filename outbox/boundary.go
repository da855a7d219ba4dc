package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// go-mail v0.8.1 draws every multipart boundary at random (mime/multipart's
// 60 hex digits). Its Msg.SetBoundary cannot help: it applies one boundary to
// every level, and a multipart/mixed holding a multipart/alternative with the
// same boundary is broken MIME (RFC 2046 section 5.1.1); the per-level map is
// private. So Compose lets go-mail write the message and then replaces each
// random boundary by one derived from the message itself.
//
// The new boundaries are a hash of the message with its boundaries masked.
// They depend only on the content, so the same Reply gives the same bytes,
// and content cannot contain them: that would need text that contains the
// hash of itself.

// boundaryParam finds the boundaries go-mail writes, always on a folded
// continuation line of a Content-Type header.
var boundaryParam = regexp.MustCompile(`\r\n boundary=([0-9a-f]{60})\r\n`)

// fixBoundaries returns raw with deterministic boundaries, or raw unchanged
// when it has no multipart (or, never in practice, when a derived boundary
// already occurs in the content: random boundaries are still valid MIME).
func fixBoundaries(raw []byte) []byte {
	var olds [][]byte
	for _, m := range boundaryParam.FindAllSubmatch(raw, -1) {
		olds = append(olds, m[1])
	}
	if len(olds) == 0 {
		return raw
	}
	masked := raw
	mask := bytes.Repeat([]byte{'x'}, 60)
	for _, old := range olds {
		masked = bytes.ReplaceAll(masked, old, mask)
	}
	digest := sha256.Sum256(masked)
	out := raw
	for i, old := range olds {
		h := sha256.Sum256(append(digest[:], byte(i)))
		next := []byte(hex.EncodeToString(h[:])[:60])
		if bytes.Contains(masked, next) {
			return raw
		}
		out = bytes.ReplaceAll(out, old, next)
	}
	return out
}
