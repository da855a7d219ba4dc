// Package acceptance is the mail-based acceptance runner behind `attestd
// acceptance`: it checks a running deployment of attestd from the outside,
// through the mail servers only, the way a QA team sees it.
//
// # What a run does
//
// A run takes cases: request messages (.eml) and expected.json, in the
// format of the samples (samples/requests). For each case it
//
//  1. gives the request a Message-ID unique to the run ([Stamp]), keeping the
//     original in an X-Attestd-Acceptance header, so that a second run is not
//     taken for a copy of the first by the deployment's ledger;
//  2. delivers it into the service mailbox ([Inbox]: IMAP APPEND, or SMTP
//     submission with [SMTPDelivery]);
//  3. waits, up to a timeout per case, for its reply ([Replies]: Mailpit's API
//     or an IMAP mailbox, matched by In-Reply-To) and for the original to
//     reach its folder; when no reply is expected, for the folder only;
//  4. checks everything expected.json states: the outcome
//     (X-Attestation-Outcome), the reply's recipient or its absence, the
//     folder, the beneficiaries and mentions printed in the attestation PDF,
//     the names the reply must list, the note, and that replies marked
//     no_personal_data carry none.
//
// [Report] prints a table with one line per case and the reason of every
// failure, and ends with "N passed, N failed".
//
// # The deployment's date
//
// The rules run at the deployment's date: cases written for a given day (the
// samples assume expected.json's "today", 2026-11-25) need the daemon started
// with --today at that date. The deployment's daily limits also count the
// runs: run the samples against a fresh store, or raise the limits, before
// running them more than once a day.
package acceptance
