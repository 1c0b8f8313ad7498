package msgid

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

var testSecret = []byte("0123456789abcdef-test-secret")

func TestNewVerifyRoundTrip(t *testing.T) {
	m := NewMinter(testSecret, "Desk.Example.COM")
	for _, tc := range []struct {
		kind string
		id   int64
	}{{"ack", 42}, {"ack", 0}, {"reply", math.MaxInt64}, {"x1", 7}} {
		id := m.New(tc.kind, tc.id)
		if !strings.HasSuffix(id, "@desk.example.com") {
			t.Errorf("New = %q, want the lower-cased domain", id)
		}
		if want := fmt.Sprintf("fd.%s.%d.", tc.kind, tc.id); !strings.HasPrefix(id, want) {
			t.Errorf("New = %q, want prefix %q", id, want)
		}
		local := id[:strings.IndexByte(id, '@')]
		parts := strings.Split(local, ".")
		if len(parts) != 5 || len(parts[3]) != 12 || len(parts[4]) != 16 {
			t.Errorf("New = %q: want 12 random and 16 token characters", id)
		}
		for _, form := range []string{id, "<" + id + ">"} {
			kind, n, ok := m.Verify(form)
			if !ok || kind != tc.kind || n != tc.id {
				t.Errorf("Verify(%q) = %q, %d, %v; want %q, %d, true", form, kind, n, ok, tc.kind, tc.id)
			}
		}
	}
}

func TestNewIsUnique(t *testing.T) {
	m := NewMinter(testSecret, "example.com")
	seen := map[string]bool{}
	for range 1000 {
		id := m.New("ack", 1)
		if seen[id] {
			t.Fatalf("New returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestVerifyRejects(t *testing.T) {
	m := NewMinter(testSecret, "example.com")
	good := m.New("ack", 42)
	local, domain, _ := strings.Cut(good, "@")
	parts := strings.Split(local, ".")
	other := NewMinter([]byte("another-secret-of-16+bytes"), "example.com")
	otherDomain := NewMinter(testSecret, "example.org")

	cases := map[string]string{
		"empty":              "",
		"garbage":            "hello world",
		"only brackets":      "<>",
		"one bracket":        "<" + good,
		"double brackets":    "<<" + good + ">>",
		"other domain":       local + "@example.org",
		"sub domain":         local + "@mail.example.com",
		"upper-case domain":  local + "@EXAMPLE.COM",
		"upper-case token":   strings.ToUpper(local) + "@" + domain,
		"other secret":       other.New("ack", 42),
		"other domain mint":  otherDomain.New("ack", 42),
		"changed kind":       strings.Replace(good, ".ack.", ".ask.", 1),
		"changed inbound":    strings.Replace(good, ".42.", ".43.", 1),
		"leading zero":       strings.Replace(good, ".42.", ".042.", 1),
		"plus sign":          strings.Replace(good, ".42.", ".+42.", 1),
		"negative":           strings.Replace(good, ".42.", ".-42.", 1),
		"short token":        local[:len(local)-1] + "@" + domain,
		"long token":         local + "a@" + domain,
		"missing part":       strings.Join(append(parts[:2:2], parts[3:]...), ".") + "@" + domain,
		"extra part":         "x." + good,
		"other prefix":       "fe" + good[2:],
		"trailing space":     good + " ",
		"leading space":      " " + good,
		"no at":              local,
		"two ats":            local + "@x@" + domain,
		"huge":               strings.Repeat("a", 10000) + "@" + domain,
		"overflowing number": strings.Replace(good, ".42.", ".99999999999999999999.", 1),
	}
	for name, id := range cases {
		if kind, n, ok := m.Verify(id); ok {
			t.Errorf("%s: Verify(%q) = %q, %d, true; want false", name, id, kind, n)
		}
	}
}

func TestLoopID(t *testing.T) {
	a := NewMinter(testSecret, "Example.com")
	b := NewMinter([]byte("another-secret-of-16+bytes"), "example.com")
	if a.LoopID() == b.LoopID() {
		t.Errorf("two secrets share the loop id %q", a.LoopID())
	}
	if a.LoopID() != NewMinter(testSecret, "example.com").LoopID() {
		t.Error("loop id is not stable for one secret and domain")
	}
	if !strings.HasSuffix(a.LoopID(), "@example.com") {
		t.Errorf("LoopID = %q, want it on the domain", a.LoopID())
	}
	for _, v := range []string{a.LoopID(), " <" + a.LoopID() + "> ", strings.ToUpper(a.LoopID())} {
		if !a.IsLoopID(v) {
			t.Errorf("IsLoopID(%q) = false", v)
		}
	}
	for _, v := range []string{"", b.LoopID(), "helpdesk@example.com", a.LoopID() + "x"} {
		if a.IsLoopID(v) {
			t.Errorf("IsLoopID(%q) = true", v)
		}
	}
}

func TestNewMinterPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"short secret":   func() { NewMinter([]byte("short"), "example.com") },
		"empty domain":   func() { NewMinter(testSecret, "") },
		"bad domain":     func() { NewMinter(testSecret, "exa mple.com") },
		"bad kind":       func() { NewMinter(testSecret, "example.com").New("a.b", 1) },
		"upper kind":     func() { NewMinter(testSecret, "example.com").New("Ack", 1) },
		"negative id":    func() { NewMinter(testSecret, "example.com").New("ack", -1) },
		"long kind":      func() { NewMinter(testSecret, "example.com").New(strings.Repeat("a", 17), 1) },
		"trailing dot":   func() { NewMinter(testSecret, "example.com.") },
		"hyphen label":   func() { NewMinter(testSecret, "-x.example.com") },
		"at in domain":   func() { NewMinter(testSecret, "a@example.com") },
		"nul in domain":  func() { NewMinter(testSecret, "exa\x00mple.com") },
		"long label":     func() { NewMinter(testSecret, strings.Repeat("a", 64)+".com") },
		"non-ascii host": func() { NewMinter(testSecret, "bücher.example") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestSecretIsCopied(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	m := NewMinter(secret, "example.com")
	id := m.New("ack", 1)
	secret[0] ^= 0xff
	if _, _, ok := m.Verify(id); !ok {
		t.Error("changing the caller's secret slice changed the Minter")
	}
}

func ExampleMinter() {
	m := NewMinter([]byte("a secret of at least 16 bytes"), "desk.example.com")
	id := m.New("ack", 42)
	kind, inbound, ok := m.Verify("<" + id + ">")
	fmt.Println(kind, inbound, ok)
	_, _, ok = m.Verify(strings.Replace(id, ".42.", ".43.", 1))
	fmt.Println(ok)
	// Output:
	// ack 42 true
	// false
}
