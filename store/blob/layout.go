package blob

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// layoutFile names the store's layout: "2" is <dir>/ab/<hash>. A store
// without it that already holds blobs is the original layout,
// <dir>/ab/cd/<hash>, and keeps it; 65,536 leaf directories meant that the
// first tens of thousands of Puts each made a directory and fsynced its
// parent, doubling the cost of a Put on a new store. 256 directories hold
// millions of blobs comfortably (ext4 indexes directories; git uses the
// same fan-out).
const layoutFile = "layout"

// openLayout reads the layout, or sets up layout 2 on a store that holds
// no blobs yet: the 256 fan-out directories are made and fsynced once, so
// a Put never makes a directory.
func (s *Store) openLayout() error {
	b, err := os.ReadFile(s.dir + "/" + layoutFile)
	switch {
	case err == nil && strings.TrimSpace(string(b)) == "2":
		// Made with the store; one removed by hand is made again by the
		// Put that misses it (install).
		for top := range 256 {
			set(s.dirs.top[:], top)
		}
		return nil
	case err == nil:
		return fmt.Errorf("unknown blob store layout %q in %s", strings.TrimSpace(string(b)), s.dir)
	case !errors.Is(err, os.ErrNotExist):
		return err
	default:
		old, err := hasFanout(s.dir)
		if err != nil {
			return err
		}
		if old {
			s.twoLevel = true
			return nil
		}
	}
	for top := range 256 {
		d := fmt.Sprintf("%s/%02x", s.dir, top)
		if err := os.Mkdir(d, dirPerm); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		set(s.dirs.top[:], top)
	}
	// The directories' entries are made durable by the fsync of s.dir
	// that writing the layout file ends with.
	return writeFileSync(s.dir, layoutFile, []byte("2\n"))
}

// hasFanout reports whether dir holds a fan-out directory (two hex digits)
// from before the layout file: then it is the original layout.
func hasFanout(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if n := e.Name(); e.IsDir() && len(n) == 2 && strings.Trim(n, "0123456789abcdef") == "" {
			return true, nil
		}
	}
	return false, nil
}
