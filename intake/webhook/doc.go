// Package webhook is the intake's HTTP side: web forms and inbound-mail
// providers.
//
// FormHandler serves POST /intake/forms/{form}: submissions signed the
// Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature:
// HMAC-SHA256 over "id.timestamp.body", base64, "v1," prefixed, several
// space-separated; replay window checked before any signature work) and,
// for forms with allowed origins, unsigned browser posts carrying a token
// from GET /intake/forms/{form}/token (browser.go). ProviderHandler serves
// POST /intake/{mailgun,sendgrid,postmark}/{name}: Mailgun's HMAC of
// timestamp and token, SendGrid's URL secret and basic auth, Postmark's
// basic auth. Every comparison is constant-time.
//
// Submissions are parsed within limits (JSON, URL-encoded, multipart with
// uploads; provider forms keep their bytes and field order) and rendered
// as RFC 5322 messages — a provider's raw MIME is kept verbatim — so that
// every channel goes through the same accept step and pipeline as IMAP
// mail. The webhook id, browser-token nonce, Mailgun token or the
// message's Message-ID (else a hash of the post) is the submission's
// idempotency key (DESIGN.md invariant 2). Every answer goes through one
// responder: JSON with a reason, refusals logged, all counted
// (Counters). RateLimiter puts a per-client token bucket (429) and
// in-flight bounds (503) in front of every intake route.
package webhook
