package mailparse

import (
	"bytes"
	"strings"

	"github.com/frontdesk/frontdesk/message"
)

// reportType maps a report body part's media type to message.Report.Type,
// or "" when the part is no report.
func reportType(mediaType string) string {
	switch mediaType {
	case "message/delivery-status", "message/global-delivery-status": // RFC 3464, RFC 6533
		return "delivery-status"
	case "message/disposition-notification", "message/global-disposition-notification": // RFC 8098
		return "disposition-notification"
	case "message/feedback-report": // RFC 5965
		return "feedback-report"
	}
	return ""
}

// reportFields reads the body of a delivery-status, disposition-
// notification or feedback-report part: groups of "Name: value" fields
// (with folded lines) separated by blank lines. Each group is returned as
// its fields in order; names are lower case.
func reportFields(b []byte) [][][2]string {
	var groups [][][2]string
	var cur [][2]string
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimRight(line, "\r")
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			if len(cur) > 0 {
				groups = append(groups, cur)
				cur = nil
			}
		case (line[0] == ' ' || line[0] == '\t') && len(cur) > 0:
			cur[len(cur)-1][1] += " " + string(bytes.TrimSpace(line))
		default:
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				continue
			}
			cur = append(cur, [2]string{
				strings.ToLower(string(bytes.TrimSpace(name))),
				string(bytes.TrimSpace(value)),
			})
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// fillReport adds what a report part says to r. Per-recipient fields
// (RFC 3464 §2.3) are tied to the Final-Recipient or Original-Recipient of
// their group in whatever order they come (some MTAs write Action first);
// several recipients in one group are split at each new recipient field.
func fillReport(r *message.Report, b []byte) {
	type rcpt struct {
		addr, action, status string
		final, original      bool
	}
	var rcpts []*rcpt
	for _, g := range reportFields(b) {
		var cur *rcpt
		var action, status string // seen before this group's recipient
		for _, f := range g {
			name, value := f[0], f[1]
			switch name {
			case "original-message-id": // MDN (RFC 8098 §3.2.5)
				if r.OriginalMessageID == "" {
					r.OriginalMessageID = firstMsgID(value)
				}
			case "final-recipient", "original-recipient":
				final := name == "final-recipient"
				if cur == nil || (final && cur.final) || (!final && cur.original) {
					cur = &rcpt{action: action, status: status}
					action, status = "", ""
					rcpts = append(rcpts, cur)
				}
				if final {
					cur.final, cur.addr = true, addrType(value)
				} else {
					cur.original = true
					if cur.addr == "" {
						cur.addr = addrType(value)
					}
				}
			case "action":
				if cur != nil && cur.action == "" {
					cur.action = strings.ToLower(value)
				} else {
					action = strings.ToLower(value)
				}
			case "status":
				if cur != nil && cur.status == "" {
					cur.status = value
				} else {
					status = value
				}
			}
		}
	}
	for _, rc := range rcpts {
		st := strings.TrimSpace(rc.status)
		failed := strings.HasPrefix(rc.action, "failed") ||
			rc.action == "expired" || // SendGrid: gave up retrying
			(rc.action == "" && strings.HasPrefix(st, "5"))
		if !failed {
			continue
		}
		if rc.addr != "" {
			r.FailedRecipients = appendUniqueFold(r.FailedRecipients, rc.addr)
		}
		// RFC 3463: class 5 is a permanent failure; "failed" without a
		// readable status is taken as permanent too.
		if strings.HasPrefix(st, "5") || (st == "" && strings.HasPrefix(rc.action, "failed")) {
			r.Permanent = true
		}
	}
}

// addrType reads "rfc822; user@example.com" (RFC 3464 §2.3.2).
func addrType(v string) string {
	if _, a, ok := strings.Cut(v, ";"); ok {
		v = a
	}
	return normAddr(v)
}

func appendUniqueFold(l []string, s string) []string {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return l
		}
	}
	return append(l, s)
}

// textMessageID finds the Message-ID of a returned message quoted in the
// text of a bounce that is no standard report (qmail, old Exim): the first
// line that is a Message-ID field.
func textMessageID(text string) string {
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimLeft(line, " \t>")
		if len(line) > 11 && strings.EqualFold(line[:11], "message-id:") {
			if id := firstMsgID(line[11:]); id != "" && strings.Contains(id, "@") {
				return id
			}
		}
	}
	return ""
}
