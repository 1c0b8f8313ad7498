package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// readProviderForm reads an inbound-mail provider's form post
// (multipart/form-data or URL encoded) within lim. Unlike ParseForm, which
// serves people's forms, it keeps values as the bytes posted — a raw
// message or text in its own charset is not UTF-8 — keeps the order of
// URL-encoded fields (Mailgun posts one field per header, in order), and
// skips fields whose names are unusable instead of refusing the mail. A
// part is an upload when its Content-Disposition has a filename, even an
// empty one; the parts named in rawFields (the raw message) are values
// whatever they say. Over a limit is ErrTooLarge; a broken body a
// *FieldError.
func readProviderForm(contentType string, body []byte, lim Limits, rawFields ...string) (*Form, error) {
	lim = lim.withDefaults()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedType, contentType)
	}
	f := &Form{Fields: map[string][]string{}}
	switch mt {
	case "multipart/form-data":
		err = f.readProviderMultipart(body, params["boundary"], lim, rawFields)
	case "application/x-www-form-urlencoded":
		err = f.readProviderQuery(string(body), lim)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedType, mt)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// addRaw records one value of field name; a name that cannot be a field's
// is skipped.
func (f *Form) addRaw(name, value string, lim Limits) error {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return nil
	}
	if len(value) > lim.MaxFieldBytes {
		return fmt.Errorf("%w: field %q over %d bytes", ErrTooLarge, name, lim.MaxFieldBytes)
	}
	return f.put(name, value, lim)
}

func (f *Form) readProviderQuery(q string, lim Limits) error {
	for pair := range strings.SplitSeq(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			return &FieldError{Field: "(body)", Reason: "not URL encoded: " + err.Error()}
		}
		if err := f.addRaw(name, value, lim); err != nil {
			return err
		}
	}
	return nil
}

func (f *Form) readProviderMultipart(body []byte, boundary string, lim Limits, rawFields []string) error {
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
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		name := dp["name"]
		filename, upload := dp["filename"]
		for _, raw := range rawFields {
			upload = upload && name != raw
		}
		if !upload {
			data, err := io.ReadAll(io.LimitReader(p, int64(lim.MaxFieldBytes)+1))
			if err != nil {
				return &FieldError{Field: name, Reason: "broken part: " + err.Error()}
			}
			if err := f.addRaw(name, string(data), lim); err != nil {
				return err
			}
			continue
		}
		if err := f.addFile(p, name, baseName(filename), lim); err != nil {
			return err
		}
	}
}

// baseName is the last element of an uploaded file's name, whether the
// sender used / or \ (never a path of ours: names are only shown).
func baseName(name string) string {
	name = strings.TrimSpace(strings.ReplaceAll(name, `\`, "/"))
	if name == "" {
		return ""
	}
	if b := path.Base(name); b != "." && b != "/" && b != ".." {
		return b
	}
	return ""
}
