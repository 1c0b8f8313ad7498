package pci_test

import (
	"fmt"

	"github.com/frontdesk/frontdesk/internal/pci"
)

func ExampleMaskString() {
	s, n := pci.MaskString("Card 4242-4242-4242-4242 exp 12/27 CVV 123, order 1234567")
	fmt.Println(s, n)
	// Output: Card 4242-42XX-XXXX-4242 exp 12/27 CVV XXX, order 1234567 1
}

func ExampleDisplay() {
	fmt.Println(pci.Display("378282246310005"))
	// Output: 378282XXXXX0005
}
