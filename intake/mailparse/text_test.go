package mailparse

import (
	"math/rand/v2"
	"testing"
)

func TestHasControl(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("ab \t\n\r\f\x00\x01\x1f\x7f\x80\xff~é")
	for range 100_000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		want := false
		for _, c := range b {
			want = want || isControl(c)
		}
		if got := hasControl(string(b)); got != want {
			t.Fatalf("hasControl(%q) = %v", b, got)
		}
	}
}
