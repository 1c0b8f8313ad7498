package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// Small is a backend for small blobs: the database (*sqlite.DB satisfies
// it), where a blob costs a share of a group commit instead of a durable
// file of its own. It stores what it is given under the hash it is given
// (Tiered computes the hash and verifies content on reads).
type Small interface {
	// PutBlob stores data under hash; storing a present blob again
	// changes nothing. The blob is committed when PutBlob returns and
	// durable (it survives a power loss) once the backend's next durable
	// write returns: a caller that must not go on before the blob is
	// durable records it with a durable write of the same database, as
	// the accept step does with AcceptInbound.
	PutBlob(ctx context.Context, hash string, data []byte) error
	// GetBlob returns the stored content; an error wrapping
	// store.ErrNotFound when there is none.
	GetBlob(ctx context.Context, hash string) ([]byte, error)
	// QuarantineBlob moves the blob out of reach of GetBlob with reason,
	// keeping it; a no-op for one already quarantined, store.ErrNotFound
	// for one that is nowhere.
	QuarantineBlob(ctx context.Context, hash, reason string) error
	// BlobQuarantineReason returns why and when the blob was quarantined
	// (store.ErrNotFound when it is not).
	BlobQuarantineReason(ctx context.Context, hash string) (string, time.Time, error)
}

// MaxInline is the largest threshold NewTiered takes: blobs this large are
// better as files (a database row of 16 MiB is rewritten whole by every
// checkpoint that meets it).
const MaxInline = 16 << 20

// Tiered keeps blobs of at most a threshold of bytes in a Small backend and
// larger ones as files in a Store. A blob is found by its hash alone,
// wherever it is: Get and Quarantine look in the small backend first, then
// in the files, so blobs written as files before (or with a smaller
// threshold) stay readable. Content from either tier is verified against
// its hash exactly as the file store does: a mismatch is ErrCorrupt. A Put
// is durable when it returns as a file, and as a row once the database's
// next durable write returns (see Small). It is safe for concurrent use.
type Tiered struct {
	files     *Store
	small     Small
	threshold int64
}

// NewTiered returns a store keeping blobs of at most threshold bytes in
// small and the rest in files. A threshold of 0 (or a nil small) means
// files only.
func NewTiered(files *Store, small Small, threshold int64) (*Tiered, error) {
	if files == nil {
		return nil, errors.New("blob: tiered store without a file store")
	}
	if threshold < 0 || threshold > MaxInline {
		return nil, fmt.Errorf("blob: inline threshold %d out of range 0..%d", threshold, MaxInline)
	}
	if small == nil {
		threshold = 0
	}
	return &Tiered{files: files, small: small, threshold: threshold}, nil
}

// Files returns the file tier.
func (t *Tiered) Files() *Store { return t.files }

// Dir returns the file tier's root directory.
func (t *Tiered) Dir() string { return t.files.Dir() }

// Threshold returns the size up to which blobs are kept in the small
// backend (0: none are).
func (t *Tiered) Threshold() int64 { return t.threshold }

// Inline reports whether a blob of size bytes is kept in the small
// backend (the database) rather than as a file: a caller that writes such
// a blob together with its own row (the accept step) may then store it
// there itself, under its sha256, in the same transaction.
func (t *Tiered) Inline(size int64) bool { return t.threshold > 0 && size <= t.threshold }

// Put stores the content of r and returns its sha256 (hex) and size, in the
// small backend when it is at most the threshold, else as a file (see
// Store.Put). When Put returns nil the blob is stored, and durable as
// Tiered says.
func (t *Tiered) Put(ctx context.Context, r io.Reader) (hash string, size int64, err error) {
	if t.threshold == 0 {
		return t.files.Put(ctx, r)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, &Error{Op: "put", Err: err}
	}
	if n, ok := remaining(r); ok && n > t.threshold {
		return t.files.Put(ctx, r)
	}
	// Read up to one byte past the threshold: a stream that ends by then
	// is small.
	var buf bytes.Buffer
	if n, ok := remaining(r); ok {
		buf.Grow(int(n))
	}
	if _, err := io.Copy(&buf, io.LimitReader(ctxReader{ctx: ctx, r: r}, t.threshold+1)); err != nil {
		return "", 0, wrap("put", "", err)
	}
	if int64(buf.Len()) > t.threshold {
		if rs, ok := r.(io.Seeker); ok {
			// Give the file store the seeker (it hashes first and skips a
			// present blob), back where the content began.
			if _, err := rs.Seek(-int64(buf.Len()), io.SeekCurrent); err != nil {
				return "", 0, wrap("put", "", err)
			}
			return t.files.Put(ctx, r)
		}
		return t.files.Put(ctx, io.MultiReader(bytes.NewReader(buf.Bytes()), r))
	}
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	hash = hex.EncodeToString(sum[:])
	if err := t.small.PutBlob(ctx, hash, data); err != nil {
		return "", 0, smallErr("put", hash, err)
	}
	return hash, int64(len(data)), nil
}

// remaining returns how many bytes r has left when it can tell without
// reading (a bytes.Reader, strings.Reader or a file).
func remaining(r io.Reader) (int64, bool) {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len()), true
	case io.Seeker:
		cur, err := x.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		end, err := x.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, false
		}
		if _, err := x.Seek(cur, io.SeekStart); err != nil {
			return 0, false
		}
		return end - cur, true
	}
	return 0, false
}

// Get returns the content of the blob, verified against its hash: an error
// wrapping ErrCorrupt when it does not match, ErrNotFound when it is in
// neither tier.
func (t *Tiered) Get(ctx context.Context, hash string) ([]byte, error) {
	if t.threshold == 0 && t.small == nil {
		return t.files.Get(ctx, hash)
	}
	if err := checkHash("get", hash); err != nil {
		return nil, err
	}
	if t.small != nil {
		b, err := t.small.GetBlob(ctx, hash)
		switch {
		case err == nil:
			sum := sha256.Sum256(b)
			if got := hex.EncodeToString(sum[:]); got != hash {
				return nil, corrupt("get", hash, got, int64(len(b)))
			}
			return b, nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, smallErr("get", hash, err)
		}
	}
	return t.files.Get(ctx, hash)
}

// Has reports whether a blob with hash is stored in either tier (without
// verifying it).
func (t *Tiered) Has(ctx context.Context, hash string) (bool, error) {
	if err := checkHash("stat", hash); err != nil {
		return false, err
	}
	if t.small != nil {
		_, err := t.small.GetBlob(ctx, hash)
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, store.ErrNotFound):
			return false, smallErr("stat", hash, err)
		}
	}
	return t.files.Has(hash)
}

// Quarantine moves a damaged blob out of reach, wherever it is, keeping it
// with the reason for inspection. Quarantining a blob already in
// quarantine is a no-op; one that is nowhere is ErrNotFound.
func (t *Tiered) Quarantine(ctx context.Context, hash, reason string) error {
	if err := checkHash("quarantine", hash); err != nil {
		return err
	}
	if t.small != nil {
		err := t.small.QuarantineBlob(ctx, hash, reason)
		if err == nil {
			// It may have a (good or bad) file copy too, written before;
			// leave that to a Get that finds it.
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return smallErr("quarantine", hash, err)
		}
	}
	return t.files.Quarantine(ctx, hash, reason)
}

// QuarantineReason returns the note kept with a quarantined blob ("time:
// ...\nreason: ...\n", as the file store writes it), from either tier.
func (t *Tiered) QuarantineReason(ctx context.Context, hash string) (string, error) {
	if err := checkHash("quarantine", hash); err != nil {
		return "", err
	}
	if t.small != nil {
		reason, at, err := t.small.BlobQuarantineReason(ctx, hash)
		switch {
		case err == nil:
			return fmt.Sprintf("time: %s\nreason: %s\n", at.UTC().Format(time.RFC3339), reason), nil
		case !errors.Is(err, store.ErrNotFound):
			return "", smallErr("quarantine", hash, err)
		}
	}
	return t.files.QuarantineReason(hash)
}

// smallErr wraps an error of the small backend as an *Error, keeping its
// temporary/permanent classification and mapping store.ErrNotFound to
// ErrNotFound.
func smallErr(op, hash string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Op: op, Hash: hash, Err: fmt.Errorf("%w (%w)", ErrNotFound, err)}
	}
	return &Error{Op: op, Hash: hash, Err: err, temp: IsTemporary(err)}
}
