package localmail_test

import (
	"fmt"

	"github.com/cpam/attestd/internal/localmail"
)

// Deliver a request to the watched mailbox, then look at what it holds.
func ExampleStartIMAP() {
	srv, err := localmail.StartIMAP("127.0.0.1:0", map[string]string{"attestation@cpam.example": "demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	uid, err := srv.Append("attestation@cpam.example", "INBOX", []byte("Subject: attestation\r\n\r\nBonjour\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	inbox, err := srv.Mailbox("attestation@cpam.example", "INBOX")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(uid, len(inbox.Messages), inbox.Messages[0].UID)
	// Output: 1 1 1
}
