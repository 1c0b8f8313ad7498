// Package pci finds and masks payment card numbers (DESIGN.md invariant 6,
// PCI DSS 3.4 and 4.2.2): every Luhn-valid primary account number of 13 to
// 19 digits in customer input is masked before anything is written, keeping
// at most the first 6 and last 4 digits, and a card verification code written
// next to a masked number is masked whole.
//
// The masker is a single forward pass over its input with no allocation when
// nothing is found; it runs on every raw message before it is stored. The
// output always has the same length as the input and differs only where
// digits were replaced by 'X', so byte offsets stay valid (a masked raw
// message still parses the same way).
package pci
