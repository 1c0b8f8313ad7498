package blob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Quarantine moves a damaged blob aside into <dir>/quarantine/<hash>, with
// the reason (and the time) in <hash>.reason beside it, so it is kept for
// inspection but never read as good content again. Quarantining a blob that
// is already in quarantine is a no-op; one that is nowhere is ErrNotFound.
// It starts only while ctx is live; once begun it runs to the end.
func (s *Store) Quarantine(ctx context.Context, hash, reason string) error {
	if err := checkHash("quarantine", hash); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &Error{Op: "quarantine", Hash: hash, Err: err}
	}
	qdir := filepath.Join(s.dir, quarantineDir)
	qpath := filepath.Join(qdir, hash)
	src := s.path(hash)
	if _, err := os.Stat(src); err != nil {
		if os.IsNotExist(err) {
			if _, qerr := os.Stat(qpath); qerr == nil {
				return nil
			}
		}
		return wrap("quarantine", hash, err)
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		reason = "unspecified"
	}
	note := fmt.Sprintf("time: %s\nreason: %s\n", time.Now().UTC().Format(time.RFC3339), reason)
	if err := writeFileSync(qdir, hash+".reason", []byte(note)); err != nil {
		return wrap("quarantine", hash, err)
	}
	if err := os.Rename(src, qpath); err != nil {
		return wrap("quarantine", hash, err)
	}
	if err := syncDir(qdir); err != nil {
		return wrap("quarantine", hash, err)
	}
	if err := syncDir(filepath.Dir(src)); err != nil {
		return wrap("quarantine", hash, err)
	}
	return nil
}

// QuarantineReason returns the reason file of a quarantined blob.
func (s *Store) QuarantineReason(hash string) (string, error) {
	if err := checkHash("quarantine", hash); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(s.dir, quarantineDir, hash+".reason"))
	if err != nil {
		return "", wrap("quarantine", hash, err)
	}
	return string(b), nil
}

// Delete removes a blob (retention, erasure). Deleting a missing blob is not
// an error.
func (s *Store) Delete(hash string) error {
	if err := checkHash("delete", hash); err != nil {
		return err
	}
	err := os.Remove(s.path(hash))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return wrap("delete", hash, err)
	}
	return nil
}

// writeFileSync writes name in dir durably: temp file, fsync, rename, fsync
// of dir.
func writeFileSync(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}
