package webhook

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

var contact = Mapping{Email: "email", Name: "name", Subject: "subject", Message: "message", Phone: "phone", OrderLines: "items"}

func multipartBody(t *testing.T, fields map[string]string, files map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="upload"; filename="`+name+`"`)
		h.Set("Content-Type", "text/plain")
		p, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		p.Write([]byte(content))
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func TestParseForm(t *testing.T) {
	ct, mp := multipartBody(t, map[string]string{"email": "ann@example.net", "message": "Hello"}, map[string]string{"receipt.txt": "paid"})
	cases := []struct {
		name, ct, body string
		want           map[string][]string
		files          int
	}{
		{"json", "application/json; charset=utf-8",
			`{"email":"ann@example.net","message":"My parcel","qty":2,"gift":true,"tags":["a","b"],"items":[{"sku":"K1","qty":1}],"none":null}`,
			map[string][]string{"email": {"ann@example.net"}, "message": {"My parcel"}, "qty": {"2"}, "gift": {"true"},
				"tags": {"a", "b"}, "items": {`[{"sku":"K1","qty":1}]`}}, 0},
		{"urlencoded", "application/x-www-form-urlencoded", "email=ann%40example.net&message=Hi+there&tags=a&tags=b",
			map[string][]string{"email": {"ann@example.net"}, "message": {"Hi there"}, "tags": {"a", "b"}}, 0},
		{"multipart", ct, string(mp), map[string][]string{"email": {"ann@example.net"}, "message": {"Hello"}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseForm(c.ct, []byte(c.body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Fields) != len(c.want) || len(f.Files) != c.files {
				t.Fatalf("fields %v, %d files", f.Fields, len(f.Files))
			}
			for k, v := range c.want {
				if strings.Join(f.Fields[k], "|") != strings.Join(v, "|") {
					t.Errorf("%s = %q, want %q", k, f.Fields[k], v)
				}
			}
		})
	}
}

func TestParseFormRefuses(t *testing.T) {
	ct, big := multipartBody(t, map[string]string{"email": "a@b.c"}, map[string]string{"big.txt": strings.Repeat("x", 2000)})
	cases := []struct {
		name, ct, body string
		lim            Limits
		want           error
		field          string
	}{
		{"xml", "text/xml", "<a/>", Limits{}, ErrUnsupportedType, ""},
		{"no type", "", "x", Limits{}, ErrUnsupportedType, ""},
		{"json array", "application/json", `[1,2]`, Limits{}, nil, "(body)"},
		{"two json values", "application/json", `{"a":"1"} {"b":"2"}`, Limits{}, nil, "(body)"},
		{"long field", "application/json", `{"message":"` + strings.Repeat("x", 100) + `"}`, Limits{MaxFieldBytes: 50}, nil, "message"},
		{"not utf-8", "application/x-www-form-urlencoded", "message=%ff%fe", Limits{}, nil, "message"},
		{"too many fields", "application/x-www-form-urlencoded", "a=1&b=2&c=3", Limits{MaxFields: 2}, ErrTooLarge, ""},
		{"file too big", ct, string(big), Limits{MaxFileBytes: 1000}, ErrTooLarge, ""},
		{"no boundary", "multipart/form-data", "x", Limits{}, nil, "(body)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseForm(c.ct, []byte(c.body), c.lim)
			var fe *FieldError
			switch {
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err %v, want %v", err, c.want)
			case c.want == nil && (!errors.As(err, &fe) || fe.Field != c.field):
				t.Fatalf("err %v, want a field error naming %q", err, c.field)
			}
		})
	}
}

// A submission becomes a message the e-mail normaliser reads like mail:
// the submitter as sender, the text with every other field, uploads and
// the original payload as attachments, a Message-ID fixed by the key.
func TestToMessageRoundTrip(t *testing.T) {
	p := newParser(t)
	body := `{"email":"Ann <ann@example.net>","name":"Ann Smith","subject":"Broken kettle","message":"The lid cracked.","phone":"+44 20 7946 0958","order_no":"A-1001"}`
	f, err := ParseForm("application/json", []byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{Form: "contact", Key: "msg_2Nf3", Received: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC),
		Domain: "desk.example.test", ContentType: "application/json", Payload: []byte(body)}
	raw, err := ToMessage(f, contact, env)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Parse(t.Context(), message.ChannelForm, raw)
	if err != nil {
		t.Fatalf("normalise: %v\n%s", err, raw)
	}
	if m.From.Addr != "ann@example.net" || m.From.Name != "Ann Smith" || m.Subject != "Broken kettle" {
		t.Fatalf("from %+v subject %q", m.From, m.Subject)
	}
	for _, want := range []string{"The lid cracked.", "Phone: +44 20 7946 0958", "order_no: A-1001"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "submission.json" {
		t.Fatalf("attachments %+v, want the original payload", m.Attachments)
	}
	if _, ok := m.Automated(); ok {
		t.Fatal("a form submission looks automated")
	}
	again, _ := ToMessage(f, contact, env)
	m2, _ := p.Parse(t.Context(), message.ChannelForm, again)
	env.Key = "msg_other"
	other, _ := ToMessage(f, contact, env)
	m3, _ := p.Parse(t.Context(), message.ChannelForm, other)
	if m.MessageID == "" || m2.MessageID != m.MessageID || m3.MessageID == m.MessageID {
		t.Fatalf("Message-IDs %q %q %q: want fixed by the key", m.MessageID, m2.MessageID, m3.MessageID)
	}

	for name, c := range map[string]struct {
		body, field string
	}{
		"no email":   {`{"message":"hi"}`, "email"},
		"bad email":  {`{"email":"not an address","message":"hi"}`, "email"},
		"no message": {`{"email":"a@example.net"}`, "message"},
	} {
		f, err := ParseForm("application/json", []byte(c.body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ToMessage(f, contact, env)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a field error naming %q", name, err, c.field)
		}
	}
}

// FuzzParseForm: any body under any of the accepted types parses or fails
// with one of the documented errors, and a parsed form renders or fails
// with a field error — never a panic, never another kind of error.
func FuzzParseForm(f *testing.F) {
	f.Add("application/json", []byte(`{"email":"a@b.example","message":"hi","items":[{"a":1}]}`))
	f.Add("application/x-www-form-urlencoded", []byte("email=a%40b.example&message=x&x=1&x=2"))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.example\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nfile\r\n--XX--\r\n"))
	f.Add("application/json", []byte(`{"email":"\u0000","message":"\ud800"}`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		form, err := ParseForm(ct, body, Limits{MaxFields: 20, MaxFieldBytes: 4096, MaxFiles: 3, MaxFileBytes: 1 << 16})
		var fe *FieldError
		if err != nil {
			if !errors.Is(err, ErrUnsupportedType) && !errors.Is(err, ErrTooLarge) && !errors.As(err, &fe) {
				t.Fatalf("undocumented error %T: %v", err, err)
			}
			return
		}
		_, err = ToMessage(form, contact, Envelope{Form: "f", Key: "k", Received: time.Unix(0, 0), Domain: "d.example", ContentType: ct, Payload: body})
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("render: %T %v", err, err)
		}
	})
}

// Field values never become header lines of their own.
func TestToMessageNoHeaderInjection(t *testing.T) {
	body := `{"email":"ann@example.net","name":"Ann\r\nBcc: victim@example.org","subject":"Hi\r\nBcc: victim@example.org\r\n\r\nforged body","message":"x"}`
	f, err := ParseForm("application/json", []byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ToMessage(f, contact, Envelope{Form: "contact", Key: "k", Received: time.Unix(0, 0), Domain: "desk.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	if strings.Contains(strings.ToLower(head), "\r\nbcc:") {
		t.Fatalf("a field value became a header:\n%s", head)
	}
}
