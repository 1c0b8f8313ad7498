package pci

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMaskString(t *testing.T) {
	tests := []struct {
		name, in, want string
		n              int
	}{
		{"amex 15", "card 378282246310005 thanks", "card 378282XXXXX0005 thanks", 1},
		{"visa 16", "4111111111111111", "411111XXXXXX1111", 1},
		{"spaced 16", "pay with 4242 4242 4242 4242.", "pay with 4242 42XX XXXX 4242.", 1},
		{"dashed 16", "6011-1111-1111-1117", "6011-11XX-XXXX-1117", 1},
		{"discover 16", "<td>6011000990139424</td>", "<td>601100XXXXXX9424</td>", 1},
		{"19 digits", "no 6011000990139424017", "no 601100XXXXXXXXX4017", 1},
		{"19 grouped", "4000 0000 0000 0000 006", "4000 00XX XXXX XXX0 006", 1},
		{"amex grouped", "3782 822463 10005", "3782 82XXXX X0005", 1},
		{"13 digits", "4222222222222", "422222XXX2222", 1},
		{"two cards", "5555555555554444 or 5105-1051-0510-5100",
			"555555XXXXXX4444 or 5105-10XX-XXXX-5100", 2},
		{"url-encoded spaces", "message=Pay+with+4111+1111+1111+1111+cvc+321", "message=Pay+with+4111+11XX+XXXX+1111+cvc+XXX", 1},
		{"card then year", "4111 1111 1111 1111 2025", "4111 11XX XXXX 1111 2025", 1},
		{"card and expiry", "4111111111111111 12/25", "411111XXXXXX1111 12/25", 1},

		{"cvv", "4111111111111111 exp 12/25 CVV 123 ok", "411111XXXXXX1111 exp 12/25 CVV XXX ok", 1},
		{"cvc colon 4", "378282246310005, cvc: 1234", "378282XXXXX0005, cvc: XXXX", 1},
		{"security code", "4242 4242 4242 4242 security code 123", "4242 42XX XXXX 4242 security code XXX", 1},
		{"cvv2 is", "4111111111111111\nCVV2 is 987.", "411111XXXXXX1111\nCVV2 is XXX.", 1},
		{"cvv too far", "4111111111111111" + strings.Repeat(".", 45) + " cvv 123",
			"411111XXXXXX1111" + strings.Repeat(".", 45) + " cvv 123", 1},
		{"cvv word inside word", "4111111111111111 decided 123", "411111XXXXXX1111 decided 123", 1},
		{"cvv five digits", "4111111111111111 cvv 12345", "411111XXXXXX1111 cvv 12345", 1},
		{"cvv without card", "CVV 123", "CVV 123", 0},

		{"not luhn", "4111111111111112", "4111111111111112", 0},
		{"not luhn spaced", "1234 5678 9012 3456", "1234 5678 9012 3456", 0},
		{"longer run", "41111111111111111234", "41111111111111111234", 0},
		{"inside longer run", "x4111111111111111123456789", "x4111111111111111123456789", 0},
		{"order number", "Order #ORD-2023-1015-0042, ref 1234567890", "Order #ORD-2023-1015-0042, ref 1234567890", 0},
		{"order number 16 non-luhn", "Order 2023101512345678 shipped", "Order 2023101512345678 shipped", 0},
		{"date and order", "on 2023-10-15 order 1234 5678", "on 2023-10-15 order 1234 5678", 0},
		{"phones", "+1 (212) 555-0199, +44 20 7946 0958, 0049 30 12345678, 0800 123 4567",
			"+1 (212) 555-0199, +44 20 7946 0958, 0049 30 12345678, 0800 123 4567", 0},
		{"tracking", "UPS 1Z999AA10123456784", "UPS 1Z999AA10123456784", 0},
		{"double space", "4111  1111  1111  1111", "4111  1111  1111  1111", 0},
		{"short first group", "41-1111111111111", "41-1111111111111", 0},
		{"empty", "", "", 0},
		{"masked tail is no start", "411191XXXX1111 1406310005", "411191XXXX1111 1406310005", 0},
		{"masked amex tail", "3782 82XXXX X0005 1234 5678 9", "3782 82XXXX X0005 1234 5678 9", 0},
		{"x before card", "AX 4111 1111 1111 1111", "AX 4111 11XX XXXX 1111", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := MaskString(tt.in)
			if got != tt.want || n != tt.n {
				t.Errorf("MaskString(%q) = %q, %d; want %q, %d", tt.in, got, n, tt.want, tt.n)
			}
			gb, nb := MaskBytes([]byte(tt.in))
			if string(gb) != tt.want || nb != tt.n {
				t.Errorf("MaskBytes(%q) = %q, %d; want %q, %d", tt.in, gb, nb, tt.want, tt.n)
			}
		})
	}
}

func TestMaskBytesDoesNotModifyInput(t *testing.T) {
	in := []byte("card 4111111111111111 cvv 123")
	orig := bytes.Clone(in)
	out, n := MaskBytes(in)
	if n != 1 || !bytes.Equal(in, orig) {
		t.Fatalf("input modified or not masked: in=%q out=%q n=%d", in, out, n)
	}
	plain := []byte("nothing here 12345")
	out, n = MaskBytes(plain)
	if n != 0 || &out[0] != &plain[0] {
		t.Fatalf("unmasked input should be returned as is")
	}
}

// TestBase64Untouched checks that base64 text (as in a raw MIME message)
// only ever changes where a long digit run was masked: never a byte that
// is not a digit, never the length.
func TestBase64Untouched(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 1<<20)
	for i := range raw {
		raw[i] = byte(r.UintN(256))
	}
	enc := []byte(base64.StdEncoding.EncodeToString(raw))
	// Plant a card number in the middle of the base64 text, as a pasted
	// number inside a MIME body would look.
	copy(enc[5000:], " 4111111111111111 ")
	out, n := MaskBytes(enc)
	if len(out) != len(enc) {
		t.Fatalf("length changed")
	}
	if n < 1 {
		t.Fatalf("planted card not masked")
	}
	for i := range enc {
		if out[i] != enc[i] && (!isDigit(enc[i]) || out[i] != 'X') {
			t.Fatalf("byte %d changed from %q to %q", i, enc[i], out[i])
		}
	}
}

func TestHasDigit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var b [8]byte
	for range 200_000 {
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		want := false
		for _, c := range b {
			want = want || isDigit(c)
		}
		if got := hasDigit(load8(b[:], 0)); got != want {
			t.Fatalf("hasDigit(%q) = %v", b, got)
		}
	}
}

func TestLuhnAndDisplay(t *testing.T) {
	for _, s := range []string{"378282246310005", "4111 1111 1111 1111", "6011-0009-9013-9424"} {
		if !Luhn(s) {
			t.Errorf("Luhn(%q) = false", s)
		}
	}
	for _, s := range []string{"4111111111111112", "", "abc"} {
		if Luhn(s) {
			t.Errorf("Luhn(%q) = true", s)
		}
	}
	for in, want := range map[string]string{
		"4111111111111111":    "411111XXXXXX1111",
		"4242-4242-4242-4242": "4242-42XX-XXXX-4242",
		"123456789":           "XXXXX6789",
		"12":                  "12",
	} {
		if got := Display(in); got != want {
			t.Errorf("Display(%q) = %q, want %q", in, got, want)
		}
	}
}

// luhnRun returns the first maximal run of 13–19 ASCII digits in b that
// passes the Luhn check, or "".
func luhnRun(b []byte) string {
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if l := j - i; l >= minPAN && l <= maxPAN && luhnDigits(b[i:j]) {
			return string(b[i:j])
		}
		i = j
	}
	return ""
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"4111111111111111", "4242 4242 4242 4242 cvv 123", "6011-1111-1111-1117",
		"378282246310005", "6011000990139424017", "1234 5678 9012 3456",
		"41111111111111111234", "4000 0000 0000 0000 006 2025",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, n := MaskBytes(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if len(out) != len(in) {
			t.Fatalf("length %d -> %d", len(in), len(out))
		}
		if run := luhnRun(out); run != "" {
			t.Fatalf("Luhn-valid run %q left in %q", run, out)
		}
		if again, n2 := MaskBytes(out); n2 != 0 {
			t.Fatalf("masking is not idempotent: %q -> %q -> %q", in, out, again)
		}
		changed := false
		for i := range in {
			if out[i] != in[i] {
				changed = true
				if !isDigit(in[i]) || out[i] != 'X' {
					t.Fatalf("byte %d: %q -> %q", i, in[i], out[i])
				}
			}
		}
		if changed != (n > 0) {
			t.Fatalf("count %d but changed=%v", n, changed)
		}
		s, ns := MaskString(string(in))
		if s != string(out) || ns != n {
			t.Fatalf("MaskString differs from MaskBytes: %q %d vs %q %d", s, ns, out, n)
		}
	})
}

func BenchmarkMaskBytes(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 4<<20 {
		buf.WriteString("Dear team, order 1234567 of 2023-10-15 for +1 212-555-0199 has not arrived. ")
		buf.WriteString("Base64: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTExMTExMTExMTE=\r\n")
	}
	buf.WriteString("card 4111 1111 1111 1111 cvv 123")
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, n := MaskBytes(in); n != 1 {
			b.Fatalf("masked %d", n)
		}
	}
}

func BenchmarkMaskProse(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 4<<20 {
		buf.WriteString("Hello, the parcel with my new heat pump has still not arrived although the tracking page said it would come on Monday. ")
		buf.WriteString("Could you please look into it and call me back? Kind regards, Anna from Berlin, order 1234567.\r\n")
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, n := MaskBytes(in); n != 0 {
			b.Fatalf("masked %d", n)
		}
	}
}
