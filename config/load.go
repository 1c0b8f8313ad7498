package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds the size of a config file.
const MaxFileBytes = 4 << 20

// Load reads the YAML file at path (no file when path is empty), applies
// the FRONTDESK_ variables of environ (as from os.Environ), fills in the
// derived values and validates the result. On any problem it returns a nil
// Config and an error; a Problems error lists every problem found.
func Load(path string, environ []string) (*Config, error) {
	var data []byte
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
		if err != nil {
			return nil, fmt.Errorf("config: reading %s: %w", path, err)
		}
		if len(data) > MaxFileBytes {
			return nil, fmt.Errorf("config: %s is larger than %d bytes", path, MaxFileBytes)
		}
	}
	c, err := Parse(data, environ)
	if err != nil && path != "" {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, err
}

// Parse is Load for YAML already in memory; empty data means defaults only.
func Parse(data []byte, environ []string) (*Config, error) {
	c := Default()
	var probs Problems
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err := dec.Decode(c)
		var te *yaml.TypeError
		switch {
		case errors.As(err, &te):
			// The decoder went on past these; collect them with the rest.
			for _, e := range te.Errors {
				probs = append(probs, Problem{Message: e})
			}
		case errors.Is(err, io.EOF):
			// Only comments.
		case err != nil:
			return nil, fmt.Errorf("config: %w", err)
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, errors.New("config: more than one YAML document; use one")
		}
	}
	probs = append(probs, c.applyEnv(environ)...)
	c.resolve()
	if err := c.Validate(); err != nil {
		var vp Problems
		if errors.As(err, &vp) {
			probs = append(probs, vp...)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}
