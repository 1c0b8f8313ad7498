package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration. Path is the YAML path of
// the field (mailboxes[1].tls), the environment variable, or, for errors
// the YAML decoder reports, empty with the line in Message.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is the error Load and Validate return: every problem found, not
// just the first. Use errors.As to get at the list.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	if len(ps) == 1 {
		b.WriteString("config: 1 problem:")
	} else {
		fmt.Fprintf(&b, "config: %d problems:", len(ps))
	}
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// orNil returns ps as an error, or nil when there are no problems (a nil
// Problems in an error interface would not be nil).
func (ps Problems) orNil() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
