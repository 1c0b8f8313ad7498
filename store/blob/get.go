package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// Get returns the content of the blob, verified against its hash: an error
// wrapping ErrCorrupt when it does not match, ErrNotFound when absent.
func (s *Store) Get(ctx context.Context, hash string) ([]byte, error) {
	if err := checkHash("get", hash); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "get", Hash: hash, Err: err}
	}
	b, err := os.ReadFile(s.path(hash))
	if err != nil {
		return nil, wrap("get", hash, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != hash {
		return nil, corrupt("get", hash, got, int64(len(b)))
	}
	return b, nil
}

// Open returns a reader over the blob's content. The reader hashes what it
// returns and, at the end, reports io.EOF only when the content matches its
// hash; otherwise its last Read returns an error wrapping ErrCorrupt. A
// caller must therefore not act on the content before reading it to io.EOF.
func (s *Store) Open(ctx context.Context, hash string) (io.ReadCloser, error) {
	if err := checkHash("open", hash); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "open", Hash: hash, Err: err}
	}
	f, err := os.Open(s.path(hash))
	if err != nil {
		return nil, wrap("open", hash, err)
	}
	return &verifier{f: f, want: hash, h: sha256.New()}, nil
}

// Verify reads the blob through and reports whether it matches its hash
// (nil), is damaged (ErrCorrupt) or missing (ErrNotFound).
func (s *Store) Verify(ctx context.Context, hash string) error {
	rc, err := s.Open(ctx, hash)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, ctxReader{ctx: ctx, r: rc})
	if err != nil {
		return wrap("verify", hash, err)
	}
	return nil
}

// verifier is the reader Open returns.
type verifier struct {
	f    *os.File
	want string
	h    hash.Hash
	n    int64
	err  error // sticky final error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.f.Read(p)
	if n > 0 {
		v.h.Write(p[:n])
		v.n += int64(n)
	}
	switch {
	case err == io.EOF:
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			v.err = corrupt("read", v.want, got, v.n)
		} else {
			v.err = io.EOF
		}
		return n, v.err
	case err != nil:
		v.err = wrap("read", v.want, err)
		return n, v.err
	}
	return n, nil
}

func (v *verifier) Close() error { return v.f.Close() }

func corrupt(op, want, got string, size int64) error {
	return &Error{Op: op, Hash: want, Err: fmt.Errorf("%w (content hashes to %s, %d bytes)", ErrCorrupt, got, size)}
}

// Has reports whether a blob with hash is stored (without verifying it).
func (s *Store) Has(hash string) (bool, error) {
	if err := checkHash("stat", hash); err != nil {
		return false, err
	}
	_, err := os.Stat(s.path(hash))
	switch {
	case err == nil:
		return true, nil
	case os.IsNotExist(err):
		return false, nil
	default:
		return false, wrap("stat", hash, err)
	}
}

var _ io.ReadCloser = (*verifier)(nil)
