package pci

// Word-at-a-time scanning (see "Bit Twiddling Hacks", hasbetween): the
// masker skips eight bytes at once while no digit is among them.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word.
func load8[T ~string | ~[]byte](s T, i int) uint64 {
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// hasDigit reports whether any byte of x is an ASCII digit ('/' < b < ':').
func hasDigit(x uint64) bool {
	const m, n = '0' - 1, '9' + 1
	return ((ones*(127+n)-(x&(ones*127)))&^x&((x&(ones*127))+ones*(127-m)))&highs != 0
}
