package webhook

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/store/blob"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newParser is the e-mail normaliser the pipeline runs, on a blob store in
// a temporary directory: the tests read rendered messages back with it.
func newParser(t *testing.T) *mailparse.Parser {
	t.Helper()
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return mailparse.New(mailparse.Options{Blobs: blobs})
}
