package templates

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func ackData() AckData {
	return AckData{
		CustomerName: "Ada Lovelace", Number: "C-000123", Kind: KindCase, Subject: "Printer",
		ExpectBy: time.Date(2025, 3, 4, 15, 30, 0, 0, time.UTC), ExpectWithin: "4 hours",
		Company: "Example Ltd", FromName: "Customer Service",
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadEmbedded(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ack_case.txt.tmpl", "ack_case.html.tmpl", "ack_order.txt.tmpl", "ack_order.html.tmpl", "ack_subject.tmpl"} {
		if got := s.Source(name); got != "embedded" {
			t.Errorf("Source(%s) = %q", name, got)
		}
	}
	r, err := s.RenderAck(ackData())
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "[Case C-000123] Re: Printer" {
		t.Errorf("Subject = %q", r.Subject)
	}
	for _, want := range []string{"Hello Ada Lovelace,", "case C-000123", "within 4 hours", "Tuesday 4 March 2025, 15:30 UTC", "[Case C-000123]"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, r.Text)
		}
		if !strings.Contains(r.HTML, want) {
			t.Errorf("html lacks %q:\n%s", want, r.HTML)
		}
	}
	if strings.Contains(r.Text, "card number") {
		t.Error("card warning without CardWarning")
	}
	d := ackData()
	d.CardWarning = true
	if r, err = s.RenderAck(d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Please do not send card\nnumbers by e-mail") || !strings.Contains(r.HTML, "Please do not send card numbers by e-mail") {
		t.Errorf("no card warning with CardWarning:\n%s", r.Text)
	}
}

func TestRenderOrderAndErrors(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := ackData()
	d.Kind, d.Number = KindOrder, "O-000042"
	r, err := s.RenderAck(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Subject, "[Order O-000042] ") || !strings.Contains(r.Text, "order O-000042") {
		t.Errorf("order render: %q\n%s", r.Subject, r.Text)
	}
	for name, d := range map[string]AckData{
		"unknown kind":    func() AckData { d := ackData(); d.Kind = "ticket"; return d }(),
		"number of other": func() AckData { d := ackData(); d.Number = "O-000123"; return d }(),
		"bad number":      func() AckData { d := ackData(); d.Number = "C-12"; return d }(),
	} {
		if _, err := s.RenderAck(d); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	unsigned := ackData()
	unsigned.Company, unsigned.FromName = "", " \r\n"
	if r, err := s.RenderAck(unsigned); err != nil || !strings.Contains(r.Text, "Kind regards,\n"+DefaultFromName+"\n") {
		t.Errorf("unsigned: %v\n%s", err, r.Text)
	}
	if _, err := s.Render("reply", ackData()); err == nil {
		t.Error("Render of an unknown message: no error")
	}
}

func TestBodyNeverEchoesMoreThanTheSubject(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := ackData()
	d.Subject = strings.Repeat("spam ", 500)
	d.CustomerName = "Visit https://spam.example now"
	r, err := s.RenderAck(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(r.Text, "spam") > 30 || strings.Contains(r.Text, "https://") || strings.Contains(r.HTML, "https://") {
		t.Errorf("body carries the customer's text:\n%s", r.Text)
	}
	if !strings.Contains(r.Text, "Hello,") {
		t.Error("a link-like name was used in the greeting")
	}
}

func TestOverrides(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"ack_case.txt.tmpl":      "Dear {{.CustomerName}}, your case is {{.Number}}.\n\n\n\nBye  \n",
		"ack_case.html.tmpl":     "  \n ",
		"ack_case_subject.tmpl":  "Case {{.Number}}\r\n received",
		"README.md":              "not a template",
		"ack_order.txt.tmpl.bak": "ignored",
	})
	if err := os.Mkdir(filepath.Join(dir, "sub.tmpl"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Source("ack_case.txt.tmpl"); got != filepath.Join(dir, "ack_case.txt.tmpl") {
		t.Errorf("Source = %q", got)
	}
	r, err := s.RenderAck(ackData())
	if err != nil {
		t.Fatal(err)
	}
	want := Rendered{Subject: "Case C-000123 received", Text: "Dear Ada Lovelace, your case is C-000123.\n\nBye\n", HTML: ""}
	if r != want {
		t.Errorf("override render = %#v, want %#v", r, want)
	}
	// The order acknowledgement keeps the embedded defaults and the shared subject.
	d := ackData()
	d.Kind, d.Number = KindOrder, "O-000001"
	if r, err = s.RenderAck(d); err != nil || r.Subject != "[Order O-000001] Re: Printer" || r.HTML == "" {
		t.Errorf("order with defaults = %#v, %v", r, err)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  []string
	}{
		"parse error": {map[string]string{"ack_case.txt.tmpl": "Hello {{.CustomerName"}, []string{"ack_case.txt.tmpl"}},
		"html parse":  {map[string]string{"ack_order.html.tmpl": "<p>{{if .Subject}}</p>"}, []string{"ack_order.html.tmpl"}},
		"unknown field": {map[string]string{"ack_subject.tmpl": "{{.Nope}}"},
			[]string{"ack_subject.tmpl", "Nope"}},
		"unknown func": {map[string]string{"ack_case.txt.tmpl": "{{shout .Number}}"}, []string{"ack_case.txt.tmpl", "shout"}},
		"unknown name": {map[string]string{"ack_cse.txt.tmpl": "typo"}, []string{"ack_cse.txt.tmpl", "unknown template name"}},
		"empty body":   {map[string]string{"ack_order.txt.tmpl": "{{if false}}x{{end}}"}, []string{"ack_order.txt.tmpl", "empty body"}},
		"empty subject": {map[string]string{"ack_order_subject.tmpl": " \r\n "},
			[]string{"ack_order_subject.tmpl", "empty subject"}},
		"runtime error": {map[string]string{"ack_case.html.tmpl": `{{index .Subject 500}}`}, []string{"ack_case.html.tmpl"}},
		"too big":       {map[string]string{"ack_case.txt.tmpl": strings.Repeat("x", maxTemplateBytes+1)}, []string{"ack_case.txt.tmpl", "limit"}},
		"every problem": {map[string]string{"ack_case.txt.tmpl": "{{", "ack_order.txt.tmpl": "{{end}}"},
			[]string{"ack_case.txt.tmpl", "ack_order.txt.tmpl"}},
	} {
		dir := writeFiles(t, tc.files)
		_, err := Load(dir)
		if err == nil {
			t.Errorf("%s: Load succeeded", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing directory succeeded")
	}
}

func TestHTMLIsEscaped(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := ackData()
	d.CustomerName = `<img src=x onerror=alert(1)>`
	d.Subject = `"><script>alert(1)</script>`
	d.Company = `A & B`
	r, err := s.RenderAck(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<img", "<script", "A & B"} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("html contains %q unescaped", bad)
		}
	}
	if !strings.Contains(r.Text, "<img src=x onerror=alert(1)>") {
		t.Error("the plain-text body must not HTML-escape")
	}
}

func TestRenderConcurrently(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.RenderAck(ackData())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := s.RenderAck(ackData())
				if err != nil || got != want {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent render differs: %v", err)
	}
}

func BenchmarkRenderAck(b *testing.B) {
	s, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	d := ackData()
	d.CardWarning = true
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.RenderAck(d); err != nil {
			b.Fatal(err)
		}
	}
}
