package msgid

import (
	"strings"
	"testing"
)

// FuzzVerify checks that Verify never panics and that nothing but an id this
// Minter minted verifies.
func FuzzVerify(f *testing.F) {
	m := NewMinter(testSecret, "example.com")
	// The fuzzer runs this function in several processes, so the valid ids
	// are built deterministically rather than with New.
	minted := map[string]bool{}
	for _, k := range []string{"ack", "reply"} {
		body := "fd." + k + ".42.abcdefghijkl"
		id := body + "." + m.mac(body + "@example.com")[:macLen] + "@example.com"
		if _, _, ok := m.Verify(id); !ok {
			f.Fatalf("hand-made id %q does not verify", id)
		}
		minted[id] = true
		f.Add(id)
		f.Add("<" + id + ">")
		f.Add(strings.ToUpper(id))
	}
	f.Add("fd.ack.1.aaaaaaaaaaaa.aaaaaaaaaaaaaaaa@example.com")
	f.Add("")
	f.Add("<>")
	f.Add("@example.com")
	f.Fuzz(func(t *testing.T, id string) {
		kind, n, ok := m.Verify(id)
		if !ok {
			return
		}
		bare := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		if !minted[bare] {
			t.Fatalf("Verify(%q) = %q, %d, true for an id never minted", id, kind, n)
		}
	})
}

// FuzzTamper checks that changing any one character of a minted id makes it
// fail verification.
func FuzzTamper(f *testing.F) {
	m := NewMinter(testSecret, "example.com")
	f.Add(int64(42), uint8(0), uint16(0), byte('x'))
	f.Add(int64(0), uint8(1), uint16(7), byte('1'))
	f.Add(int64(123456789), uint8(0), uint16(40), byte('A'))
	f.Add(int64(9), uint8(1), uint16(1000), byte('.'))
	f.Fuzz(func(t *testing.T, inbound int64, kindSel uint8, pos uint16, b byte) {
		if inbound < 0 {
			inbound = -(inbound + 1)
		}
		kind := []string{"ack", "reply", "r2"}[int(kindSel)%3]
		id := m.New(kind, inbound)
		if _, _, ok := m.Verify(id); !ok {
			t.Fatalf("minted id %q does not verify", id)
		}
		i := int(pos) % len(id)
		if id[i] == b {
			return
		}
		changed := id[:i] + string([]byte{b}) + id[i+1:]
		if k, n, ok := m.Verify(changed); ok {
			t.Fatalf("changed id %q (from %q) verifies as %q, %d", changed, id, k, n)
		}
	})
}
