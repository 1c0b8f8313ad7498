package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits bound what a form submission may hold; zero fields take the
// defaults of DefaultLimits.
type Limits struct {
	MaxFields     int   // distinct fields
	MaxFieldBytes int   // bytes of one field's value
	MaxFiles      int   // uploaded files
	MaxFileBytes  int64 // bytes of one file
}

// DefaultLimits suit a contact or order form.
var DefaultLimits = Limits{MaxFields: 100, MaxFieldBytes: 64 << 10, MaxFiles: 10, MaxFileBytes: 10 << 20}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxFields > 0 {
		d.MaxFields = l.MaxFields
	}
	if l.MaxFieldBytes > 0 {
		d.MaxFieldBytes = l.MaxFieldBytes
	}
	if l.MaxFiles > 0 {
		d.MaxFiles = l.MaxFiles
	}
	if l.MaxFileBytes > 0 {
		d.MaxFileBytes = l.MaxFileBytes
	}
	return d
}

// Form is a parsed submission: the values of each field, in the order
// they came, and the uploaded files.
type Form struct {
	Fields map[string][]string
	Order  []string // field names in first-seen order
	Files  []File
}

// File is one uploaded file.
type File struct {
	Field       string
	Name        string
	ContentType string
	Data        []byte
}

// ErrUnsupportedType is returned for a content type that is not JSON, URL
// encoded or multipart form data (415 to the sender).
var ErrUnsupportedType = errors.New("webhook: unsupported content type (want application/json, application/x-www-form-urlencoded or multipart/form-data)")

// ErrTooLarge is returned when a file or the number of files or fields is
// over its limit (413 to the sender).
var ErrTooLarge = errors.New("webhook: submission over a limit")

// FieldError names the field a submission got wrong (400 to the sender).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }

// ParseForm reads body, sent with contentType, into a Form within lim.
func ParseForm(contentType string, body []byte, lim Limits) (*Form, error) {
	lim = lim.withDefaults()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedType, contentType)
	}
	f := &Form{Fields: map[string][]string{}}
	switch mt {
	case "application/json":
		err = f.readJSON(body, lim)
	case "application/x-www-form-urlencoded":
		var vals url.Values
		if vals, err = url.ParseQuery(string(body)); err != nil {
			return nil, &FieldError{Field: "(body)", Reason: "not URL encoded: " + err.Error()}
		}
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys) // url.Values keeps no order
		for _, k := range keys {
			for _, v := range vals[k] {
				if err = f.add(k, v, lim); err != nil {
					return nil, err
				}
			}
		}
	case "multipart/form-data":
		err = f.readMultipart(body, params["boundary"], lim)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedType, mt)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// add records one value of field name.
func (f *Form) add(name, value string, lim Limits) error {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return &FieldError{Field: name, Reason: "not a usable field name"}
	}
	if len(value) > lim.MaxFieldBytes {
		return &FieldError{Field: name, Reason: fmt.Sprintf("longer than %d bytes", lim.MaxFieldBytes)}
	}
	if !utf8.ValidString(value) {
		return &FieldError{Field: name, Reason: "not UTF-8 text"}
	}
	return f.put(name, value, lim)
}

// put appends value to field name, within the number of fields.
func (f *Form) put(name, value string, lim Limits) error {
	if _, seen := f.Fields[name]; !seen {
		if len(f.Order) >= lim.MaxFields {
			return fmt.Errorf("%w: more than %d fields", ErrTooLarge, lim.MaxFields)
		}
		f.Order = append(f.Order, name)
	}
	f.Fields[name] = append(f.Fields[name], value)
	return nil
}

// readJSON reads a JSON object: strings, numbers and booleans are values;
// arrays of them are several values; objects and arrays of objects (order
// lines) are kept as their compact JSON text.
func (f *Form) readJSON(body []byte, lim Limits) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return &FieldError{Field: "(body)", Reason: "not a JSON object: " + err.Error()}
	}
	if dec.More() {
		return &FieldError{Field: "(body)", Reason: "more than one JSON value"}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a JSON object has no order
	for _, k := range keys {
		vals, err := jsonValues(obj[k])
		if err != nil {
			return &FieldError{Field: k, Reason: err.Error()}
		}
		for _, v := range vals {
			if err := f.add(k, v, lim); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonValues turns one JSON value into field values. raw is one value of
// an object the caller decoded, so its syntax is valid; strings, numbers,
// booleans and null (nearly every field) take no second decoder.
func jsonValues(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("empty JSON value")
	}
	switch c := raw[0]; {
	case c == '"' && bytes.IndexByte(raw, '\\') < 0:
		// No escapes: the text between the quotes is the value (valid
		// JSON strings hold no control characters).
		return []string{string(raw[1 : len(raw)-1])}, nil
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case c == 'n': // null
		return nil, nil
	case c == 't', c == 'f', c == '-', c >= '0' && c <= '9': // as written
		return []string{string(raw)}, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case json.Number:
		return []string{x.String()}, nil
	case bool:
		return []string{fmt.Sprint(x)}, nil
	case []any:
		var out []string
		for _, e := range x {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case json.Number:
				out = append(out, e.String())
			case bool:
				out = append(out, fmt.Sprint(e))
			default: // objects inside: keep the whole array as JSON
				return []string{compactJSON(raw)}, nil
			}
		}
		return out, nil
	default:
		return []string{compactJSON(raw)}, nil
	}
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// readMultipart reads multipart/form-data: parts with a file name are
// files, the others values.
func (f *Form) readMultipart(body []byte, boundary string, lim Limits) error {
	if boundary == "" {
		return &FieldError{Field: "(body)", Reason: "multipart/form-data without a boundary"}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &FieldError{Field: "(body)", Reason: "broken multipart body: " + err.Error()}
		}
		name := p.FormName()
		if p.FileName() == "" {
			data, err := io.ReadAll(io.LimitReader(p, int64(lim.MaxFieldBytes)+1))
			if err != nil {
				return &FieldError{Field: name, Reason: "broken part: " + err.Error()}
			}
			if err := f.add(name, string(data), lim); err != nil {
				return err
			}
			continue
		}
		if err := f.addFile(p, name, p.FileName(), lim); err != nil {
			return err
		}
	}
}

// addFile reads an upload part within the file limits and adds it as
// field's file named filename.
func (f *Form) addFile(p *multipart.Part, field, filename string, lim Limits) error {
	if len(f.Files) >= lim.MaxFiles {
		return fmt.Errorf("%w: more than %d files", ErrTooLarge, lim.MaxFiles)
	}
	data, err := io.ReadAll(io.LimitReader(p, lim.MaxFileBytes+1))
	if err != nil {
		return &FieldError{Field: field, Reason: "broken file part: " + err.Error()}
	}
	if int64(len(data)) > lim.MaxFileBytes {
		return fmt.Errorf("%w: file %q over %d bytes", ErrTooLarge, filename, lim.MaxFileBytes)
	}
	ct := p.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	f.Files = append(f.Files, File{Field: field, Name: filename, ContentType: ct, Data: data})
	return nil
}

// Value returns the first value of field, trimmed; "" when absent.
func (f *Form) Value(field string) string {
	if field == "" {
		return ""
	}
	if v := f.Fields[field]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}
