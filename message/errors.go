package message

import (
	"errors"
	"fmt"
)

// LimitError says that a message exceeded one of our parsing bounds
// (DESIGN.md invariant 5). It is permanent: the raw message is kept, marked
// with Limit, and routed to a person.
type LimitError struct {
	Limit string // "max_bytes", "max_parts", "max_depth", "max_part_header_bytes"
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("message exceeds limit %s (%d)", e.Limit, e.Max)
}

// ParseError says a message could not be parsed at all. It is permanent.
type ParseError struct {
	Reason string
	Err    error
}

func (e *ParseError) Error() string {
	if e.Err != nil {
		return "cannot parse message: " + e.Reason + ": " + e.Err.Error()
	}
	return "cannot parse message: " + e.Reason
}

func (e *ParseError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a bad-input error that no retry can fix.
func IsPermanent(err error) bool {
	var le *LimitError
	var pe *ParseError
	return errors.As(err, &le) || errors.As(err, &pe)
}

// Limits bound the work a parser may do on one message. Zero values mean the
// defaults in DefaultLimits.
type Limits struct {
	MaxBytes           int64 // total raw size
	MaxParts           int   // MIME parts, all levels
	MaxDepth           int   // multipart / message/rfc822 nesting
	MaxPartHeaderBytes int   // header bytes of any one part
	MaxAttachmentBytes int64 // decoded bytes of one attachment
}

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{
	MaxBytes:           50 << 20,
	MaxParts:           500,
	MaxDepth:           20,
	MaxPartHeaderBytes: 64 << 10,
	MaxAttachmentBytes: 25 << 20,
}

// WithDefaults returns l with zero fields set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxParts > 0 {
		d.MaxParts = l.MaxParts
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxPartHeaderBytes > 0 {
		d.MaxPartHeaderBytes = l.MaxPartHeaderBytes
	}
	if l.MaxAttachmentBytes > 0 {
		d.MaxAttachmentBytes = l.MaxAttachmentBytes
	}
	return d
}
