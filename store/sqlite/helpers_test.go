package sqlite

import (
	"fmt"
	"os"
)

func keyOf(i int) string { return fmt.Sprintf("imap:INBOX:1:%d", i) }

// osStat returns the size of a file.
func osStat(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
