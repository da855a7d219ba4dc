// Package localmail runs in-process IMAP and SMTP servers on loopback for
// `attestd demo` and for the tests: an IMAP server holding the mailbox that
// attestd watches (go-imap v2's imapmemserver), and an SMTP server that keeps
// every message it accepts (go-smtp).
//
// Both servers can be stopped and started again on the same address with
// their data intact, which is how the failure tests simulate a server
// restart; the SMTP server can also refuse messages on demand (SetFault).
// They speak plain text on loopback: never expose them beyond it.
package localmail
