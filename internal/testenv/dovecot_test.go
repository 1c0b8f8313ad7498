package testenv

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestDovecot(t *testing.T) {
	noLeaks(t)
	d := StartDovecot(t)
	exerciseServer(t, d)

	c := d.Dial(t)
	for _, want := range []imap.Cap{imap.CapIdle, imap.CapMove, imap.CapUIDPlus} {
		if !c.Caps().Has(want) {
			t.Errorf("dovecot lacks %s: %v", want, c.Caps())
		}
	}
}
