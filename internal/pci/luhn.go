package pci

// luhnDigits reports whether the digits of s (bytes '0'..'9'; separators
// are skipped) pass the Luhn check (ISO/IEC 7812-1 annex B).
func luhnDigits[T ~string | ~[]byte](s T) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n > 0 && sum%10 == 0
}

// Luhn reports whether the digits in s pass the Luhn check. Characters other
// than ASCII digits are ignored, so "4111 1111 1111 1111" is valid. A string
// without digits is not valid.
func Luhn(s string) bool { return luhnDigits(s) }
