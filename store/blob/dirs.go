package blob

import (
	"errors"
	"os"
	"sync/atomic"
)

// dirCache remembers which fan-out directories (<dir>/ab and <dir>/ab/cd)
// this Store has made sure exist durably: created if missing, and their
// parent fsynced afterwards. Only then is a directory's bit set, so a Put
// that finds the bit set may rename into it without another syscall, and
// one that does not makes sure itself — also when another goroutine or
// process created the directory, whose parent fsync may still be to come.
type dirCache struct {
	top  [256 / 64]atomic.Uint64   // <dir>/ab, by the value of ab
	leaf [65536 / 64]atomic.Uint64 // <dir>/ab/cd, by the value of abcd
}

// fanout returns the values of a (valid) hash's first one and two bytes.
func fanout(hash string) (top, leaf int) {
	top = int(unhex(hash[0]))<<4 | int(unhex(hash[1]))
	return top, top<<8 | int(unhex(hash[2]))<<4 | int(unhex(hash[3]))
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

func isSet(bits []atomic.Uint64, i int) bool { return bits[i/64].Load()&(1<<(i%64)) != 0 }
func set(bits []atomic.Uint64, i int)        { bits[i/64].Or(1 << (i % 64)) }
func unset(bits []atomic.Uint64, i int)      { bits[i/64].And(^uint64(1 << (i % 64))) }

// forget drops what the cache knows about hash's directories, after they
// turned out to be missing.
func (c *dirCache) forget(hash string) {
	top, leaf := fanout(hash)
	unset(c.leaf[:], leaf)
	unset(c.top[:], top)
}

// ensureDirs makes sure the directories of hash exist and survive a crash.
// After the first Put into a directory this is one atomic load.
func (s *Store) ensureDirs(hash string) error {
	top, leaf := fanout(hash)
	if isSet(s.dirs.leaf[:], leaf) || !s.twoLevel && isSet(s.dirs.top[:], top) {
		return nil
	}
	d1 := s.dir + "/" + hash[0:2]
	if !isSet(s.dirs.top[:], top) {
		if err := mkdirSync(s.dir, d1); err != nil {
			return err
		}
		set(s.dirs.top[:], top)
	}
	if !s.twoLevel {
		return nil
	}
	if err := mkdirSync(d1, d1+"/"+hash[2:4]); err != nil {
		return err
	}
	set(s.dirs.leaf[:], leaf)
	return nil
}

// mkdirSync creates dir in parent unless it exists, then fsyncs parent so
// that the entry is durable whoever created it.
func mkdirSync(parent, dir string) error {
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncDir(parent)
}
