// Package webhook authenticates the HTTP channels of the intake: web forms
// signed the Standard Webhooks way (webhook-id, webhook-timestamp,
// webhook-signature: HMAC-SHA256 over "id.timestamp.body", base64, "v1,"
// prefixed, several space-separated) and inbound-mail providers (Mailgun's
// HMAC of timestamp and token). Every comparison is constant-time, and
// timestamps outside the replay window are refused before any signature
// work. Replayed ids are the ledger's business: the id is the submission's
// idempotency key (DESIGN.md invariant 2).
//
// The form and provider handlers that use it come with issue 5.
package webhook
