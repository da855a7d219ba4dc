// Package mailenv finds and drives the real mail servers that attestd's
// end-to-end tests run against: Dovecot for IMAP and Mailpit for SMTP, with
// Mailpit's HTTP API to read back what was sent.
//
// # Finding the servers
//
// .ci/servers.sh starts both on loopback and exports the variables that
// [FromEnv] reads ([EnvIMAPAddr], [EnvIMAPUser], [EnvIMAPPassword],
// [EnvSMTPAddr], [EnvMailpitAPI]; [EnvQAUser] and [EnvQAPassword] are
// optional). A test that needs them calls [Require], which skips the test,
// naming the missing variables, when they are not set:
//
//	env := mailenv.Require(t)
//	if err := env.ResetIMAP(ctx); err != nil { ... }
//	mp := env.Mailpit()
//	if err := mp.DeleteAll(ctx); err != nil { ... }
//
// # Shared servers
//
// Every test process talks to the same two servers. [Env.ResetIMAP],
// [Mailpit.DeleteAll] and [Mailpit.SetChaos] change what every other test
// sees, so packages whose tests use the servers must not run at the same
// time: run them in one `go test -p 1 ...` or in separate `go test`
// invocations, and keep their tests sequential (no t.Parallel).
//
// # Mailpit chaos
//
// Mailpit started with --enable-chaos answers a chosen SMTP error to a chosen
// share of MAIL FROM (Sender), RCPT TO (Recipient) or AUTH (Authentication)
// commands. [Mailpit.SetChaos] sets the triggers (PUT /api/v1/chaos); setting
// the zero [ChaosTriggers] turns every trigger off again.
package mailenv
