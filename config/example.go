package config

import _ "embed"

//go:embed example.yaml
var example []byte

// Example returns the commented example configuration, which documents
// every field and loads as is.
func Example() []byte {
	return append([]byte(nil), example...)
}
