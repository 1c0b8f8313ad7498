package pci

// Card numbers (PANs) are 13 to 19 digits (ISO/IEC 7812-1). People write
// them as one run of digits or in groups separated by single spaces or
// dashes ("4111 1111 1111 1111", "3782-822463-10005"); in URL-encoded form
// bodies a space is a '+' ("4111+1111+1111+1111"). The scanner accepts:
//
//   - a run of 13–19 digits with no digit directly before or after it, and
//   - groups joined by single ' ', '-' or '+' whose first group has at least 4
//     digits, whose middle groups have at least 3 and whose total is 13–19
//     digits; the longest Luhn-valid window starting at a group is taken,
//     so "4111 1111 1111 1111 2025" masks the card and keeps the year.
//
// Runs longer than 19 digits are not card numbers (tracking numbers, ids)
// and are left alone. Dates and phone numbers ("2023-10-15", "+1 212-555-
// 0199") do not fit the group rule.

const (
	minPAN      = 13
	maxPAN      = 19
	keepLeading = 6
	keepTrail   = 4
	// cvvReach is how far after a card number a CVV keyword may start.
	cvvReach = 40
	// cvvGap is how many non-digit bytes may sit between the keyword and
	// the code ("CVV: 123", "security code is 123").
	cvvGap = 16
)

func isDigit(c byte) bool { return c-'0' <= 9 }

// isSep reports a byte that may join the digit groups of a card number.
func isSep(c byte) bool { return c == ' ' || c == '-' || c == '+' }

// nextCard returns the next card-number window [start, end) at or after pos.
func nextCard[T ~string | ~[]byte](s T, pos int) (start, end int, ok bool) {
	n := len(s)
	for i := pos; i < n; {
		if i+8 <= n && !hasDigit(load8(s, i)) {
			i += 8
			continue
		}
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < n && isDigit(s[j]) {
			j++
		}
		if i > 0 && isDigit(s[i-1]) {
			// pos fell inside a run: it is not a start of its own.
			i = j
			continue
		}
		glen := j - i
		if glen >= minPAN && glen <= maxPAN && luhnDigits(s[i:j]) {
			return i, j, true
		}
		if glen >= 4 && glen < maxPAN && !afterMask(s, i) && !(j < n && s[j] == 'X') {
			if e, ok := groupWindow(s, i, j); ok {
				return i, e, true
			}
		}
		i = j
	}
	return 0, 0, false
}

// afterMask reports whether the group at i follows a number masked
// before: 'X's (and separators) with a digit before them. Such a group is
// the tail of a masked card, as a group followed by 'X' is its head:
// neither joins a grouped number, so masking twice masks nothing more. (A
// run of 13–19 digits is checked anyway.)
func afterMask[T ~string | ~[]byte](s T, i int) bool {
	sawX := false
	j := i - 1
	for ; j >= 0 && i-j <= 2*maxPAN; j-- {
		c := s[j]
		if c == 'X' {
			sawX = true
		} else if !isSep(c) {
			break
		}
	}
	return sawX && j >= 0 && isDigit(s[j])
}

// groupWindow extends the first group [start, firstEnd) over following
// groups and returns the end of the longest Luhn-valid window.
func groupWindow[T ~string | ~[]byte](s T, start, firstEnd int) (int, bool) {
	n := len(s)
	digits := firstEnd - start
	best := -1
	e, prevLen := firstEnd, digits
	for e+1 < n && isSep(s[e]) && isDigit(s[e+1]) {
		if e != firstEnd && prevLen < 3 {
			break // a short group may only end a number
		}
		k := e + 1
		for k < n && isDigit(s[k]) {
			k++
		}
		if k < n && s[k] == 'X' {
			break // the head of a number masked before
		}
		glen := k - (e + 1)
		digits += glen
		if digits > maxPAN {
			break
		}
		if digits >= minPAN && luhnDigits(s[start:k]) {
			best = k
		}
		prevLen, e = glen, k
	}
	return best, best >= 0
}

// cvvAfter finds a card verification code written shortly after a card
// number that ends at end: a keyword starting within cvvReach bytes, then
// up to cvvGap non-digit bytes, then exactly 3 or 4 digits.
func cvvAfter[T ~string | ~[]byte](s T, end int) (start, stop int, ok bool) {
	n := len(s)
	limit := min(end+cvvReach, n)
	for i := end; i < limit; i++ {
		if i > 0 && isLetter(s[i-1]) {
			continue
		}
		kw := matchKeyword(s, i)
		if kw == 0 {
			continue
		}
		j := i + kw
		gapEnd := min(j+cvvGap, n)
		for j < gapEnd && !isDigit(s[j]) {
			j++
		}
		if j >= n || !isDigit(s[j]) {
			return 0, 0, false
		}
		k := j
		for k < n && isDigit(s[k]) {
			k++
		}
		if l := k - j; l == 3 || l == 4 {
			return j, k, true
		}
		return 0, 0, false
	}
	return 0, 0, false
}

func isLetter(c byte) bool { c |= 0x20; return c >= 'a' && c <= 'z' }

// matchKeyword returns the length of the CVV keyword at s[i:], or 0.
func matchKeyword[T ~string | ~[]byte](s T, i int) int {
	// Names of card verification codes, lower case. Longer forms come
	// first so "cvv2" is not read as "cvv" followed by "2".
	keywords := [...]string{
		"card verification", "verification code", "security code", "sec code",
		"cvv2", "cvc2", "cvv", "cvc", "cvn", "csc", "cid",
	}
	for _, kw := range keywords {
		if i+len(kw) > len(s) {
			continue
		}
		match := true
		for k := 0; k < len(kw); k++ {
			c := s[i+k]
			if c >= 'A' && c <= 'Z' {
				c |= 0x20
			}
			if c != kw[k] {
				match = false
				break
			}
		}
		if match {
			if e := i + len(kw); e < len(s) && isLetter(s[e]) {
				continue // "cvc" in "cvcx", "cid" in "cider"
			}
			return len(kw)
		}
	}
	return 0
}

// maskPAN replaces in out every digit of the window src[start:end] but the
// first 6 and the last 4 by 'X'. Digits are counted in src, so a window
// that overlaps an earlier mask is still masked in the right places.
func maskPAN[T ~string | ~[]byte](out []byte, src T, start, end int) {
	total := 0
	for i := start; i < end; i++ {
		if isDigit(src[i]) {
			total++
		}
	}
	k := 0
	for i := start; i < end; i++ {
		if !isDigit(src[i]) {
			continue
		}
		if k >= keepLeading && k < total-keepTrail {
			out[i] = 'X'
		}
		k++
	}
}

// mask runs the scanner over s and returns the masked copy (nil when
// nothing was found) and the number of card numbers masked.
func mask[T ~string | ~[]byte](s T) ([]byte, int) {
	var out []byte
	count := 0
	for pos := 0; ; {
		start, end, ok := nextCard(s, pos)
		if !ok {
			break
		}
		if out == nil {
			out = make([]byte, len(s))
			copy(out, s)
		}
		maskPAN(out, s, start, end)
		count++
		if cs, ce, ok := cvvAfter(s, end); ok {
			for i := cs; i < ce; i++ {
				out[i] = 'X'
			}
		}
		// Scanning goes on right after the card, not after the CVV: a
		// number between the two is still checked.
		pos = end
	}
	return out, count
}

// MaskBytes returns b with every card number masked (first 6 and last 4
// digits kept, separators kept) and every CVV written next to one replaced
// by X's, and the number of card numbers masked. The result has the length
// of b. b is never modified; when nothing is masked b itself is returned.
func MaskBytes(b []byte) ([]byte, int) {
	out, n := mask(b)
	if n == 0 {
		return b, 0
	}
	return out, n
}

// MaskString is MaskBytes for a string.
func MaskString(s string) (string, int) {
	out, n := mask(s)
	if n == 0 {
		return s, 0
	}
	return string(out), n
}

// Display returns a card number as it may be shown (PCI DSS 3.4.1): the
// first 6 and last 4 digits of a 13–19 digit number, only the last 4 of a
// shorter one, every other digit as 'X'. Separators are kept.
func Display(pan string) string {
	b := []byte(pan)
	total := 0
	for _, c := range b {
		if isDigit(c) {
			total++
		}
	}
	lead := keepLeading
	if total < minPAN {
		lead = 0
	}
	k := 0
	for i, c := range b {
		if !isDigit(c) {
			continue
		}
		if k >= lead && k < total-keepTrail {
			b[i] = 'X'
		}
		k++
	}
	return string(b)
}
