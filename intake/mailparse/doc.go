// Package mailparse owns Frontdesk's e-mail normaliser: it turns one raw
// RFC 5322 / MIME message into a *message.Message — decoded addresses,
// subject, date and thread ids, the plain-text and sanitised HTML bodies,
// attachments stored as blobs under safe display names, card numbers masked
// (DESIGN.md invariant 6) — and detects automated mail (invariant 3, RFC
// 3834): bounces, reports, auto-replies, lists and our own mail.
//
// Parsing is bounded (invariant 5): go-message bounds only the top-level
// header, so the MIME tree is split here, over the in-memory raw bytes,
// with a limit on the total size, the number of parts over all levels, the
// nesting depth (multipart and message/rfc822), the header bytes of every
// part and the decoded size of an attachment. The whole tree is checked
// against the structural limits before anything is decoded or stored, so a
// refused message leaves no blobs behind. MaxPartHeaderBytes applies to the
// top-level header too. An attachment whose decoded size is over
// MaxAttachmentBytes does not fail the message: it is skipped with a
// warning (decoding stops at the limit), as help desks do with oversized
// files, so the customer's text still reaches a person and the raw message
// still holds the file. Header fields are read in place, unfolded only when
// asked for, as go-message's textproto does; addresses and dates are read
// with go-message/mail and net/mail, charsets with go-message/charset
// (plus UTF-7, which it lacks).
//
// Broken input is read as far as it goes, never refused for one flaw: a bad
// address header, an unknown charset or transfer encoding, a missing
// boundary each leave a warning in Message.Warnings.
//
// It also masks card numbers in raw messages before they are stored
// (invariant 6, "the stored raw copy included"): MaskLiteral masks the
// digits written as they are, MaskRaw those that only decoding shows (base64
// and quoted-printable text parts, RFC 2047 encoded words, folded header
// lines), rewriting the encoded bytes in place over the same bounded MIME
// tree the parser splits.
//
// Errors: *message.LimitError and *message.ParseError are permanent (the raw
// message is kept and shown to a person); an error from the blob store is
// returned wrapped and is temporary.
package mailparse
