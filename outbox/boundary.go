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

// fixBoundaries rewrites raw in place with deterministic boundaries and
// returns it. It leaves the random ones when there is no multipart or
// (never in practice) when a derived boundary already occurs in the
// content: random boundaries are still valid MIME.
func fixBoundaries(raw []byte) []byte {
	var olds [][]byte
	for _, m := range boundaryParam.FindAllSubmatch(raw, -1) {
		olds = append(olds, bytes.Clone(m[1]))
	}
	if len(olds) == 0 {
		return raw
	}
	// Boundaries have the same length as their replacements, so every
	// rewrite is done in place at the offsets found once.
	var at [][]int
	for _, old := range olds {
		at = append(at, indexAll(raw, old))
	}
	mask := bytes.Repeat([]byte{'x'}, len(olds[0]))
	for _, offsets := range at {
		for _, o := range offsets {
			copy(raw[o:], mask)
		}
	}
	digest := sha256.Sum256(raw)
	news := make([][]byte, len(olds))
	for i := range olds {
		h := sha256.Sum256(append(digest[:], byte(i)))
		news[i] = []byte(hex.EncodeToString(h[:])[:len(olds[i])])
		if bytes.Contains(raw, news[i]) {
			news = olds // keep go-mail's random boundaries
			break
		}
	}
	for i, offsets := range at {
		for _, o := range offsets {
			copy(raw[o:], news[i])
		}
	}
	return raw
}

// indexAll returns the offsets of every occurrence of sep in b.
func indexAll(b, sep []byte) []int {
	var out []int
	for off := 0; ; {
		i := bytes.Index(b[off:], sep)
		if i < 0 {
			return out
		}
		out = append(out, off+i)
		off += i + len(sep)
	}
}
