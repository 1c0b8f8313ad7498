// Package webhook is the intake's HTTP side: web forms and inbound-mail
// providers. It authenticates requests — Standard Webhooks signatures
// (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 over
// "id.timestamp.body", base64, "v1," prefixed, several space-separated)
// and Mailgun's HMAC of timestamp and token — with constant-time
// comparisons and a replay window checked before any signature work. It
// parses form submissions (JSON, URL-encoded, multipart with uploads)
// within limits and renders them, like provider payloads (Postmark), as
// RFC 5322 messages, so that every channel goes through the same accept
// step and pipeline as IMAP mail. FormHandler serves POST
// /intake/forms/{form}. The webhook id (or the provider's message id) is
// the submission's idempotency key (DESIGN.md invariant 2).
package webhook
