package mailer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
)

// wireProblems parses raw (a message as sent) with go-message and lists
// every way it differs from what o asked for: any bare CR, LF or NUL, any
// header field that Build should not have written, a missing or repeated
// one, a value that does not read back as intended, a body that does not
// decode to o's text and HTML.
func wireProblems(raw []byte, o Outgoing) []string {
	var p []string
	bad := func(f string, a ...any) { p = append(p, fmt.Sprintf(f, a...)) }

	for i, c := range raw {
		switch {
		case c == 0:
			bad("NUL at byte %d", i)
		case c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n'):
			bad("bare CR at byte %d", i)
		case c == '\n' && (i == 0 || raw[i-1] != '\r'):
			bad("bare LF at byte %d", i)
		}
	}
	hdrEnd := bytes.Index(raw, []byte("\r\n\r\n"))
	if hdrEnd < 0 {
		return append(p, "no end of header")
	}
	for _, line := range strings.Split(string(raw[:hdrEnd]), "\r\n") {
		if len(line) > 998 {
			bad("header line of %d bytes", len(line))
		}
	}

	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		return append(p, "go-message: "+err.Error())
	}
	h := gomail.Header{Header: e.Header}

	want := map[string]bool{
		"date": true, "message-id": true, "mime-version": true, "subject": true,
		"from": true, "to": true, "content-type": true,
	}
	if strings.TrimSpace(o.HTML) == "" {
		want["content-transfer-encoding"] = true
	}
	if o.ReplyTo != "" {
		want["reply-to"] = true
	}
	inReplyTo := trimBrackets(o.InReplyTo)
	if ValidMsgID(inReplyTo) {
		want["in-reply-to"] = true
	}
	var refs []string
	if l := msgIDList(o.References); l != "" {
		want["references"] = true
		for _, r := range strings.Fields(l) {
			refs = append(refs, trimBrackets(r))
		}
	}
	if !o.Human {
		want["auto-submitted"], want["x-auto-response-suppress"], want["precedence"] = true, true, true
	}
	if o.LoopID != "" {
		want["x-loop"] = true
	}
	for k, v := range o.Headers {
		if cleanText(v, maxHeaderRunes) != "" {
			want[strings.ToLower(k)] = true
		}
	}
	seen := map[string]int{}
	for f := h.Fields(); f.Next(); {
		seen[strings.ToLower(f.Key())]++
	}
	for k, n := range seen {
		if !want[k] {
			bad("unexpected header %q", k)
		} else if n != 1 {
			bad("header %q appears %d times", k, n)
		}
	}
	for k := range want {
		if seen[k] == 0 {
			bad("missing header %q", k)
		}
	}

	if id, err := h.MessageID(); err != nil || id != o.MessageID {
		bad("Message-ID = %q, %v; want %q", id, err, o.MessageID)
	}
	if s, err := h.Subject(); err != nil || s != cleanText(o.Subject, maxSubjectRunes) {
		bad("Subject = %q, %v; want %q", s, err, cleanText(o.Subject, maxSubjectRunes))
	}
	checkAddr := func(key, name, addr string) {
		l, err := h.AddressList(key)
		if err != nil || len(l) != 1 {
			bad("%s = %v, %v", key, l, err)
			return
		}
		if l[0].Name != name || l[0].Address != addr {
			bad("%s = %q <%s>; want %q <%s>", key, l[0].Name, l[0].Address, name, addr)
		}
	}
	if from, err := parseMailbox(o.From); err == nil {
		checkAddr("From", from.Name, from.Address)
	}
	if o.ReplyTo != "" {
		if rt, err := parseMailbox(o.ReplyTo); err == nil {
			checkAddr("Reply-To", rt.Name, rt.Address)
		}
	}
	if to, err := address(o.To.Name, o.To.Addr); err == nil {
		checkAddr("To", to.Name, to.Address)
	}
	if want["in-reply-to"] {
		if l, err := h.MsgIDList("In-Reply-To"); err != nil || !slices.Equal(l, []string{inReplyTo}) {
			bad("In-Reply-To = %q, %v; want %q", l, err, inReplyTo)
		}
	}
	if want["references"] {
		if l, err := h.MsgIDList("References"); err != nil || !slices.Equal(l, refs) {
			bad("References = %q, %v; want %q", l, err, refs)
		}
	}
	exact := map[string]string{}
	if !o.Human {
		exact["Auto-Submitted"], exact["X-Auto-Response-Suppress"], exact["Precedence"] = "auto-replied", "All", "auto_reply"
	}
	if o.LoopID != "" {
		exact["X-Loop"] = cleanText(o.LoopID, maxHeaderRunes)
	}
	for k, v := range o.Headers {
		if v = cleanText(v, maxHeaderRunes); v != "" {
			exact[k] = v
		}
	}
	for k, v := range exact {
		if got, err := h.Text(k); err != nil || got != v {
			bad("%s = %q, %v; want %q", k, got, err, v)
		}
	}

	// Bodies: text/plain, or multipart/alternative of text/plain and text/html.
	// Read each part before the next: a multipart reader streams.
	type part struct {
		mediaType, body string
		err             error
	}
	var parts []part
	readPart := func(e *gomessage.Entity) {
		mt, _, _ := e.Header.ContentType()
		b, err := io.ReadAll(e.Body)
		parts = append(parts, part{mt, strings.ReplaceAll(string(b), "\r\n", "\n"), err})
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			pe, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return append(p, "multipart: "+err.Error())
			}
			readPart(pe)
		}
	} else {
		readPart(e)
	}
	wantTypes := []string{"text/plain"}
	wantBodies := []string{cleanBody(o.Text)}
	if strings.TrimSpace(o.HTML) != "" {
		wantTypes = append(wantTypes, "text/html")
		wantBodies = append(wantBodies, cleanBody(o.HTML))
	}
	if len(parts) != len(wantTypes) {
		return append(p, fmt.Sprintf("%d body parts, want %d", len(parts), len(wantTypes)))
	}
	for i, pt := range parts {
		if pt.mediaType != wantTypes[i] {
			bad("part %d is %s, want %s", i, pt.mediaType, wantTypes[i])
		}
		if pt.err != nil {
			bad("part %d: %v", i, pt.err)
		} else if pt.body != wantBodies[i] {
			bad("part %d body = %q, want %q", i, pt.body, wantBodies[i])
		}
	}
	return p
}

func checkWire(t testing.TB, raw []byte, o Outgoing) {
	t.Helper()
	for _, p := range wireProblems(raw, o) {
		t.Error(p)
	}
	if t.Failed() {
		t.Logf("message:\n%s", raw)
	}
}
