package mailer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Outbox "sends" by writing each message to <dir>/<message-id>.eml, for
// installations without an SMTP server (and for looking at what would be
// sent). A file appears whole or not at all (temporary file, fsync, link
// into place, fsync of the directory), and a Message-ID is written once:
// sending it again leaves the first file as it is, as a resent message is
// the same message.
type Outbox struct {
	dir string
}

// NewOutbox returns an outbox writing to dir, which it creates if needed.
func NewOutbox(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("mailer: outbox directory is required")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mailer: outbox: %w", err)
	}
	return &Outbox{dir: dir}, nil
}

// Path is the file that message id is (or would be) written to.
func (b *Outbox) Path(messageID string) string {
	return filepath.Join(b.dir, fileName(messageID)+".eml")
}

// Send writes o to the outbox. Failures to write are temporary (a full or
// read-only disk may recover); an unusable message is permanent. It calls
// o.BeforeCommit, when set, once the file is written and synced, before it
// is linked into place (or when it is there already).
func (b *Outbox) Send(ctx context.Context, o Outgoing) error {
	if err := ctx.Err(); err != nil {
		return temporary(StageWrite, err)
	}
	msg, err := Build(o)
	if err != nil {
		return err
	}
	final := b.Path(o.MessageID)
	if _, err := os.Lstat(final); err == nil {
		return b.commit(ctx, o) // written before: one file per Message-ID
	}
	tmp, err := os.CreateTemp(b.dir, ".tmp-*.eml")
	if err != nil {
		return temporary(StageWrite, err)
	}
	defer os.Remove(tmp.Name()) // after the link, or on failure
	if _, err := msg.WriteTo(tmp); err != nil {
		_ = tmp.Close()
		return temporary(StageWrite, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return temporary(StageWrite, err)
	}
	if err := tmp.Close(); err != nil {
		return temporary(StageWrite, err)
	}
	if err := b.commit(ctx, o); err != nil {
		return err
	}
	// A hard link never replaces an existing file: when two workers race on
	// one Message-ID, the first file stays.
	if err := os.Link(tmp.Name(), final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return temporary(StageWrite, err)
	}
	if err := syncDir(b.dir); err != nil {
		e := temporary(StageWrite, err)
		e.afterCommit = true // visible, but may not survive a crash
		return e
	}
	return nil
}

// commit runs o.BeforeCommit, if any; see Outgoing.
func (b *Outbox) commit(ctx context.Context, o Outgoing) error {
	if o.BeforeCommit == nil {
		return nil
	}
	if err := o.BeforeCommit(ctx); err != nil {
		return temporary(StageCommit, fmt.Errorf("before commit: %w", err))
	}
	if err := context.Cause(ctx); err != nil {
		return temporary(StageCommit, fmt.Errorf("before commit: %w", err))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// fileName makes a Message-ID a safe file name: characters other than
// letters, digits and "._@+-=" become "_", a leading dot too, and when that
// changed anything (or the id is long) a hash of the id keeps distinct ids
// apart.
func fileName(id string) string {
	var b strings.Builder
	changed := false
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._@+-=", c) >= 0
		if !ok || i == 0 && c == '.' {
			c = '_'
			changed = true
		}
		b.WriteByte(c)
	}
	name := b.String()
	if len(name) > 150 {
		name = name[:150]
		changed = true
	}
	if changed || name == "" {
		sum := sha256.Sum256([]byte(id))
		name += "_" + hex.EncodeToString(sum[:6])
	}
	return name
}
