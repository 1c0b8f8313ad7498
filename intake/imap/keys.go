package imap

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/textproto"
)

// SourceKey is the source key of a message fetched in normal operation:
// "imap:<name>:<uidvalidity>:<uid>" (store.Inbound.SourceKey).
func SourceKey(name string, uidValidity uint32, uid imap.UID) string {
	return "imap:" + name + ":" + strconv.FormatUint(uint64(uidValidity), 10) + ":" +
		strconv.FormatUint(uint64(uid), 10)
}

// RescanKey is the source key of a message found by the rescan that follows
// a UIDVALIDITY change: "imap:<name>:mid:<hash>", where hash covers the
// Message-ID and Date header fields, so that the same message keeps its
// key whatever UID it has. Date is included because some senders reuse
// Message-IDs; two distinct messages sharing both are treated as one. A
// message without Message-ID falls back to SourceKey.
func RescanKey(name string, raw []byte, uidValidity uint32, uid imap.UID) string {
	id, date := identity(raw)
	if id == "" {
		return SourceKey(name, uidValidity, uid)
	}
	sum := sha256.Sum256([]byte(id + "\x00" + date))
	return "imap:" + name + ":mid:" + hex.EncodeToString(sum[:16])
}

// identity returns the normalised Message-ID (without angle brackets) and
// Date field of raw's top-level header, "" when absent or unreadable.
func identity(raw []byte) (messageID, date string) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return "", ""
	}
	messageID = strings.TrimSpace(unfold(h.Get("Message-Id")))
	messageID = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(messageID, "<"), ">"))
	return messageID, unfold(h.Get("Date"))
}

// unfold joins folded header lines and collapses runs of white space.
func unfold(v string) string {
	return strings.Join(strings.Fields(v), " ")
}
