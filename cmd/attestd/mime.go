package main

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message/mail"
)

type attachment struct {
	name string
	data []byte
}

// replyIDs returns a message's Message-ID and In-Reply-To, without angle
// brackets.
func replyIDs(raw []byte) (id, inReplyTo string) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return "", ""
	}
	defer r.Close()
	clean := func(k string) string { return strings.Trim(strings.TrimSpace(r.Header.Get(k)), "<>") }
	return clean("Message-Id"), clean("In-Reply-To")
}

// attachments returns the attached files of a reply.
func attachments(raw []byte) ([]attachment, error) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []attachment
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			data, err := io.ReadAll(p.Body)
			if err != nil {
				return nil, err
			}
			out = append(out, attachment{name: name, data: data})
		}
	}
}
