package intake

import (
	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/message"
)

// maskRaw masks card numbers in a raw message before it is written
// (DESIGN.md invariant 6), the stored raw copy included: first the digits
// written as they are, in the body and in every header field but those
// that carry identifiers (mailparse.MaskLiteral), then the numbers that
// only decoding shows — in base64 and quoted-printable text parts, RFC 2047
// encoded words, folded header lines (mailparse.MaskRaw). A message over
// lim keeps the literal pass only: it is not decoded here, and the
// normaliser refuses it under the same limits and routes it to a person.
func maskRaw(raw []byte, lim message.Limits) ([]byte, int) {
	lit, n := mailparse.MaskLiteral(raw)
	out, m, err := mailparse.MaskRaw(lit, lim)
	if err != nil {
		return lit, n
	}
	return out, n + m
}
