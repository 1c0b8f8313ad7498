package config

import (
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable the config reads.
const EnvPrefix = "FRONTDESK_"

// EnvConfigPath names the config file for the frontdesk command; it is the
// one FRONTDESK_ variable that is not a config field, and Load ignores it.
const EnvConfigPath = "FRONTDESK_CONFIG"

// fileSuffix marks the variant of a string field's variable that names a
// file holding the value (for secrets mounted as files).
const fileSuffix = "_FILE"

// maxEnvIndex bounds list indexes in variable names, so a typo cannot make
// a huge list.
const maxEnvIndex = 999

var durationType = reflect.TypeFor[time.Duration]()

// step is one level of a path through the Config struct: a field and, for a
// list of sections, an entry index.
type step struct {
	field int // index of the struct field
	entry int // list index, or -1
}

// EnvVars lists every environment variable the config reads, in struct
// order, with <N> standing for a list index. String fields also accept the
// name with _FILE appended.
func EnvVars() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := prefix + envName(f)
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, name+"_")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				walk(f.Type.Elem(), name+"_<N>_")
			default:
				out = append(out, name)
			}
		}
	}
	walk(reflect.TypeFor[Config](), EnvPrefix)
	return out
}

// envName is the upper-cased YAML key of f.
func envName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return strings.ToUpper(tag)
}

// yamlKey is the YAML key of f.
func yamlKey(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return tag
}

// applyEnv applies every FRONTDESK_ variable of environ to c and returns a
// problem for each one that names no field, cannot be parsed, or whose file
// cannot be read. When a variable appears more than once the last one wins,
// as in exec.Cmd.
func (c *Config) applyEnv(environ []string) Problems {
	vars := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) || k == EnvConfigPath {
			continue
		}
		vars[k] = v
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)

	var probs Problems
	root := reflect.ValueOf(c).Elem()
	for _, name := range names {
		steps, isFile, ok := matchEnv(root.Type(), strings.TrimPrefix(name, EnvPrefix))
		if !ok {
			probs = append(probs, Problem{Path: name, Message: "unknown variable: names are FRONTDESK_ + a YAML path, e.g. FRONTDESK_MAILBOXES_0_PASSWORD"})
			continue
		}
		if isFile {
			plain := strings.TrimSuffix(name, fileSuffix)
			if _, both := vars[plain]; both {
				probs = append(probs, Problem{Path: name, Message: "set together with " + plain + "; use one of them"})
				continue
			}
		}
		path := yamlPath(root.Type(), steps)
		value := vars[name]
		if isFile {
			b, err := readSmallFile(value)
			if err != nil {
				probs = append(probs, Problem{Path: name, Message: fmt.Sprintf("reading %s: %v", path, err)})
				continue
			}
			value = strings.TrimRight(string(b), "\r\n")
		}
		if err := setField(fieldFor(root, steps), value); err != nil {
			probs = append(probs, Problem{Path: name, Message: fmt.Sprintf("%s: %v", path, err)})
		}
	}
	return probs
}

// maxEnvFileBytes bounds what a _FILE variable may read.
const maxEnvFileBytes = 64 << 10

// readSmallFile reads a value file of at most maxEnvFileBytes.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEnvFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxEnvFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxEnvFileBytes)
	}
	return b, nil
}

// matchEnv finds the field that rest (a variable name without the prefix)
// names in struct type t. isFile reports a string field's _FILE variant.
// Several fields can share a prefix (LIMITS_MAX_PARTS vs a field named
// MAX); every candidate is tried and the first full match wins; TestEnvNames
// checks that no two fields produce the same name.
func matchEnv(t reflect.Type, rest string) (steps []step, isFile, ok bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := envName(f)
		if name == "" || !strings.HasPrefix(rest, name) {
			continue
		}
		tail := rest[len(name):]
		switch {
		case f.Type.Kind() == reflect.Struct:
			if sub, ok := strings.CutPrefix(tail, "_"); ok {
				if s, file, ok := matchEnv(f.Type, sub); ok {
					return append([]step{{field: i, entry: -1}}, s...), file, true
				}
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			sub, ok := strings.CutPrefix(tail, "_")
			if !ok {
				continue
			}
			digits, sub, ok := strings.Cut(sub, "_")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(digits)
			if err != nil || n < 0 || n > maxEnvIndex || strconv.Itoa(n) != digits {
				continue
			}
			if s, file, ok := matchEnv(f.Type.Elem(), sub); ok {
				return append([]step{{field: i, entry: n}}, s...), file, true
			}
		default:
			if tail == "" {
				return []step{{field: i, entry: -1}}, false, true
			}
			if tail == fileSuffix && f.Type.Kind() == reflect.String {
				return []step{{field: i, entry: -1}}, true, true
			}
		}
	}
	return nil, false, false
}

// fieldFor walks steps from v, growing lists as needed, and returns the
// settable leaf.
func fieldFor(v reflect.Value, steps []step) reflect.Value {
	for _, s := range steps {
		v = v.Field(s.field)
		if s.entry >= 0 {
			if v.Len() <= s.entry {
				grown := reflect.MakeSlice(v.Type(), s.entry+1, s.entry+1)
				reflect.Copy(grown, v)
				v.Set(grown)
			}
			v = v.Index(s.entry)
		}
	}
	return v
}

// yamlPath renders steps as a YAML path: mailboxes[0].password.
func yamlPath(t reflect.Type, steps []step) string {
	var b strings.Builder
	for i, s := range steps {
		f := t.Field(s.field)
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(yamlKey(f))
		t = f.Type
		if s.entry >= 0 {
			fmt.Fprintf(&b, "[%d]", s.entry)
			t = t.Elem()
		}
	}
	return b.String()
}

// setField parses s with v's type and stores it.
func setField(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a duration such as 30s or 25m: %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a boolean (true or false): %q", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("not a number: %q", s)
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var list []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		v.Set(reflect.ValueOf(list).Convert(v.Type()))
	default:
		// Only reachable when a field of a new type is added to Config;
		// TestEnvVarsCoverTypes catches that.
		return fmt.Errorf("cannot be set from the environment (type %s)", v.Type())
	}
	return nil
}
