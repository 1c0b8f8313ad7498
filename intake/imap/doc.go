// Package imap is Frontdesk's IMAP channel: a Poller watches one folder of
// one mailbox, hands every new message to the accept step (intake.Acceptor)
// and only then tells the server the message is taken (DESIGN.md
// invariant 1). It owns the IMAP session, the checkpoint of the folder, the
// source keys of IMAP messages and the flags and moves it makes on the server.
//
// # One message, start to finish
//
// The poller connects (implicit TLS, STARTTLS, or plain text for loopback
// tests), logs in and SELECTs the folder. It searches for new messages
// (UID SEARCH UID <last+1>:* UNKEYWORD <flag> UNKEYWORD $FrontdeskTooLarge;
// "n:*" also matches the highest UID when nothing is new, so results are
// filtered to UIDs above the checkpoint), then works in batches (200 by
// default): sizes and flags first, then the bodies of the messages to take
// in one UID FETCH BODY.PEEK[] (several when they add up to more than
// FetchBytes, 16 MiB), so fetching never sets \Seen and memory stays
// bounded. The bodies go to Accept AcceptWorkers (16) at a time, so that
// their fsyncs overlap and their inbound rows share commits; the acceptor
// is safe for concurrent use, and the same source key twice at once is
// still one inbound row (its unique key). When Accept returns nil the
// message is durable and queued; once the batch's accepts are done the
// poller adds its flag ("$Frontdesk" by default) to the accepted messages
// and, when MoveTo is set, moves them there (UID MOVE; without MOVE: COPY,
// STORE \Deleted, UID EXPUNGE — never a bare EXPUNGE, which would also
// remove other people's \Deleted mail; MoveTo is created when missing).
// Last, the checkpoint (UIDVALIDITY, last UID) is saved: it passes only
// the prefix of the batch that is finished. A crash anywhere in between
// only means the message is fetched again; Accept finds its source key and
// returns the first result.
//
// A message over Config.MaxBytes is not downloaded, and one the acceptor
// refuses with intake.ErrTooLarge is not retried: both get the keyword
// $FrontdeskTooLarge, are logged and left in the folder for a person.
// When Accept fails otherwise (store or Redis down) the poller starts no
// further message, leaves that message untouched (no flag, no move: the
// server keeps it), still flags or moves the messages that were accepted
// meanwhile, keeps the checkpoint before the failed one, backs off and
// tries again later.
//
// # Source keys and UIDVALIDITY
//
// A message's source key is "imap:<name>:<uidvalidity>:<uid>" (SourceKey).
// A UID only means something together with the folder's UIDVALIDITY
// (RFC 9051 §2.3.1.1); when the server changes UIDVALIDITY (folder
// re-created, mailbox migrated or rebuilt) the same messages come back with
// new UIDs, and a UID-based key would make every one of them a new case.
// Nothing becomes two cases because:
//
//  1. Taken messages are marked on the server, not only in our checkpoint:
//     in flag mode they carry the flag, and every search skips flagged
//     messages; in move mode they have left the folder (they are flagged
//     before the move, and a session start moves any flagged message still
//     in the folder, so a crash between flag and move heals itself).
//  2. On a UIDVALIDITY change the poller logs a warning and rescans the
//     folder from UID 1 (still skipping flagged messages). Messages found
//     by the rescan get a content key, RescanKey:
//     "imap:<name>:mid:<hash of Message-ID and Date>" (the UID key when the
//     message has no Message-ID), which does not depend on UIDs: copies of
//     one message that a migration duplicated, and a rescan repeated after
//     a crash or a second change, map to one key. The checkpoint takes the
//     new UIDVALIDITY only when the rescan has finished, so an interrupted
//     rescan starts over with the same keys.
//
// What remains: a message accepted but not yet flagged when the poller
// died, whose folder then changes UIDVALIDITY before the poller returns,
// or a migration that drops keywords, is accepted a second time (its first
// key was UID-based). Use move mode (MoveTo) on servers whose keywords are
// not reliable. To have a taken
// message processed again, copy or append it to the folder without the
// flag: only UIDs above the checkpoint are new mail.
//
// # New mail
//
// Where the server offers IDLE (RFC 2177) the poller idles and wakes on
// EXISTS (the notice arrives on imapclient's reader goroutine; the handler
// only signals a buffered channel). It leaves and re-issues IDLE every
// IdleRestart (25 min: servers may drop an idle client after 29) and
// checks for mail every IdleCheck as a safety net (some servers miss an
// update that lands just before IDLE starts, cf. cyrus-imapd #3668).
// Without IDLE, or with DisableIdle, it polls every PollInterval. Checks
// that a timer brings (the poll, the IdleCheck safety net) also compare the
// folder's UIDVALIDITY (STATUS) so that a folder deleted or re-created
// under a live session is noticed; a check woken by the server's new-mail
// notice skips it (that notice is about the live folder, and mail in a
// re-created one is not announced to the old session, so the safety net
// comes), unless the last comparison is older than the safety-net
// interval. Every SessionMaxAge (1h) the poller logs out and starts a
// fresh session, in case a server session's view went stale without
// saying so (Dovecot can, when a selected folder is re-created).
//
// # Failures
//
// Every session error is classified (ErrorKind: network, tls, auth,
// mailbox, server, accept, checkpoint, config) and shown in Status. The
// poller reconnects with exponential backoff and jitter (BackoffMin 1s to
// BackoffMax 5 min, reset after a healthy session); a rejected login is
// logged at error level and retried only every BackoffMax. A command that
// gets no answer within CommandTimeout closes the connection. Run returns
// when its context is cancelled: the connection is closed, which also ends
// IDLE, and no goroutine outlives Run.
package imap
