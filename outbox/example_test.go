package outbox_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/outbox"
)

// Compose a reply once, store the bytes, send them (again after a
// temporary failure) with a Sender.
func ExampleCompose() {
	raw, id, err := outbox.Compose(outbox.Reply{
		ID:              "ATT-20261125-0001",
		MessageIDDomain: "cpam.example",
		From:            "attestation@cpam.example",
		To:              "eva.martin@example.org",
		Subject:         "Demande d'attestation",
		InReplyTo:       "req-1@example.org",
		Outcome:         "address_missing",
		Text:            "Bonjour,\nmerci de mettre à jour votre adresse postale.\n",
		Date:            time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id, len(raw) > 0)
	// Output: ATT-20261125-0001@cpam.example true
}

func ExampleSender_Send() {
	relay, err := localmail.StartSMTP("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer relay.Close()

	sender := outbox.NewSender(outbox.SMTPConfig{Address: relay.Addr(), TLS: "none"})
	defer sender.Close()
	raw := []byte("From: <attestation@cpam.example>\r\nTo: <eva@example.org>\r\nSubject: Re: test\r\n\r\nBonjour.\r\n")
	err = sender.Send(context.Background(), "attestation@cpam.example", []string{"eva@example.org"}, raw)
	switch {
	case outbox.IsTemporary(err):
		fmt.Println("temporary failure, try again later:", err)
	case err != nil:
		fmt.Println("give up:", err)
	default:
		fmt.Println("sent; relay holds", len(relay.Messages()), "message")
	}
	// Output: sent; relay holds 1 message
}
