package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is the replay window: a timestamp further than this from
// our clock, either way, is refused.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks secret: the rest is the key in
// base64.
const secretPrefix = "whsec_"

// Errors of verification. Each is permanent for the request that caused it
// (401 to the sender); none says anything about the secret.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp      = errors.New("webhook: timestamp outside the replay window")
	ErrSignature      = errors.New("webhook: no valid signature")
	ErrSecret         = errors.New("webhook: unusable secret")
)

// Key decodes a secret as configured: "whsec_<base64>" (the Standard
// Webhooks form) or, failing that prefix, the secret's own bytes. Keys
// shorter than 16 bytes are refused.
func Key(secret string) ([]byte, error) {
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, secretPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSecret, err)
		}
		key = b
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("%w: shorter than 16 bytes", ErrSecret)
	}
	return key, nil
}

// Sign returns the webhook-signature value ("v1,<base64>") of body sent as
// message id at ts: what a sender computes, and what tests and the load
// harness use.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the Standard Webhooks headers of a request with body
// against any of keys (several during a secret rotation) at now, and
// returns the message id. The timestamp is checked first, so a replay
// outside the window costs no HMAC.
func Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration, keys ...[]byte) (id string, err error) {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return "", ErrMissingHeaders
	}
	if err := checkTimestamp(ts, now, tolerance); err != nil {
		return "", err
	}
	for _, key := range keys {
		want := mac(key, id, ts, body)
		for _, s := range strings.Fields(sigs) {
			version, sig, ok := strings.Cut(s, ",")
			if !ok || version != "v1" {
				continue // other schemes (v1a: asymmetric) are not ours
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil && hmac.Equal(got, want) {
				return id, nil
			}
		}
	}
	return "", ErrSignature
}

// checkTimestamp parses a unix-seconds timestamp and refuses one outside
// now ± tolerance.
func checkTimestamp(ts string, now time.Time, tolerance time.Duration) error {
	return checkWindow(ts, now, tolerance, tolerance)
}

// checkWindow refuses a unix time ts older than maxAge or more than
// maxAhead ahead of now.
func checkWindow(ts string, now time.Time, maxAge, maxAhead time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 || sec > math.MaxInt64/int64(time.Second) {
		return fmt.Errorf("%w: not a unix time: %q", ErrTimestamp, ts)
	}
	switch d := now.Sub(time.Unix(sec, 0)); {
	case d > maxAge:
		return fmt.Errorf("%w: %s old (at most %s)", ErrTimestamp, d.Round(time.Second), maxAge)
	case d < -maxAhead:
		return fmt.Errorf("%w: %s ahead of our clock (at most %s)", ErrTimestamp, (-d).Round(time.Second), maxAhead)
	}
	return nil
}

// MailgunMaxAge is the default age limit of a Mailgun signature: Mailgun
// retries a post it got no 2xx for during 8 hours (after 5, 10, 15 min,
// 1, 2 and 4 h), and a retry may carry the first attempt's timestamp — a
// 5-minute window would refuse every retry after a 503 and so lose the
// mail. Replays inside the window are stopped by the token.
const MailgunMaxAge = 9 * time.Hour

// VerifyMailgun checks a Mailgun webhook's signature fields: hex
// HMAC-SHA256 under the webhook signing key of timestamp followed by token,
// the timestamp at most maxAge old and at most DefaultTolerance ahead of
// now. The token is the idempotency key of the post (a replayed token is
// a duplicate), and maxAge must cover Mailgun's retries, which may carry
// the first attempt's signature (see MailgunMaxAge).
func VerifyMailgun(key []byte, timestamp, token, signature string, now time.Time, maxAge time.Duration) error {
	if timestamp == "" || token == "" || signature == "" {
		return fmt.Errorf("%w: timestamp, token or signature field", ErrMissingHeaders)
	}
	if err := checkWindow(timestamp, now, maxAge, DefaultTolerance); err != nil {
		return err
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return ErrSignature
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte(token))
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignature
	}
	return nil
}
