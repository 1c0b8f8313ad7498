// Package templates owns the acknowledgement templates: the embedded
// defaults, operator overrides loaded from a directory, their validation at
// start-up, and rendering. It also owns the subject tag ("[Case C-000123]")
// that threads replies to their case or order: Tag writes it and ParseTag
// reads it back. Plain-text bodies are rendered with text/template, HTML
// bodies with html/template (contextual escaping).
//
// Files, by name (overrides replace embedded files of the same name):
//
//	ack_case.txt.tmpl    ack_case.html.tmpl     acknowledgement of a new case
//	ack_order.txt.tmpl   ack_order.html.tmpl    acknowledgement of a new order
//	ack_subject.tmpl                            subject of both (one line)
//	ack_case_subject.tmpl, ack_order_subject.tmpl   optional per-kind subjects
//
// Templates see AckData and these functions: tag (Tag), subjectLine
// (SubjectLine), kindTitle ("Case", "Order"), date (formats a time as
// "Tuesday 4 March 2025, 15:30 UTC").
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed defaults/*.tmpl
var defaults embed.FS

// maxTemplateBytes bounds one template file.
const maxTemplateBytes = 256 << 10

// optional names may be added by an override but have no embedded default.
var optional = []string{"ack_case_subject.tmpl", "ack_order_subject.tmpl"}

// executor is what text/template and html/template templates share.
type executor interface {
	Execute(w *bytes.Buffer, data any) error
}

type textExec struct{ t *texttemplate.Template }

func (e textExec) Execute(w *bytes.Buffer, data any) error { return e.t.Execute(w, data) }

type htmlExec struct{ t *htmltemplate.Template }

func (e htmlExec) Execute(w *bytes.Buffer, data any) error { return e.t.Execute(w, data) }

// Set is a loaded, validated set of templates. It is safe for concurrent use.
type Set struct {
	tmpl   map[string]executor // by file name
	source map[string]string   // file name -> "embedded" or the override path
}

// Load parses the embedded templates, replaced file by file by the *.tmpl
// files in overrideDir (none when overrideDir is ""), and tries every
// template with sample data. Every problem is reported, each naming its file:
// an unknown file name, a parse error, an execution error. Other files in
// overrideDir (a README, an editor's backup) are ignored.
func Load(overrideDir string) (*Set, error) {
	files := map[string][]byte{}
	source := map[string]string{}
	entries, err := fs.ReadDir(defaults, "defaults")
	if err != nil {
		return nil, fmt.Errorf("templates: reading embedded defaults: %w", err)
	}
	for _, e := range entries {
		b, err := defaults.ReadFile("defaults/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("templates: reading embedded %s: %w", e.Name(), err)
		}
		files[e.Name()] = b
		source[e.Name()] = "embedded"
	}

	var errs []error
	if overrideDir != "" {
		entries, err := os.ReadDir(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("templates: reading override directory: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".tmpl") || e.IsDir() {
				continue
			}
			path := filepath.Join(overrideDir, name)
			if _, known := files[name]; !known && !slices.Contains(optional, name) {
				errs = append(errs, fmt.Errorf("templates: %s: unknown template name (known: %s)", path, knownNames(files)))
				continue
			}
			b, err := readLimited(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("templates: %s: %w", path, err))
				continue
			}
			files[name] = b
			source[name] = path
		}
	}

	s := &Set{tmpl: map[string]executor{}, source: source}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ex, err := parse(name, string(files[name]))
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %s: %w", source[name], err))
			continue
		}
		s.tmpl[name] = ex
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, d := range sampleData() {
		for _, part := range []string{".txt.tmpl", ".html.tmpl", "subject"} {
			name := s.fileFor(ackName(d.Kind), part)
			if _, err := s.execute(name, d); err != nil {
				errs = append(errs, fmt.Errorf("templates: %s: %w", source[name], err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(dedupe(errs)...)
	}
	return s, nil
}

func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxTemplateBytes {
		return nil, fmt.Errorf("template of %d bytes is over the %d byte limit", st.Size(), maxTemplateBytes)
	}
	return os.ReadFile(path)
}

func parse(name, text string) (executor, error) {
	if strings.HasSuffix(name, ".html.tmpl") {
		t, err := htmltemplate.New(name).Option("missingkey=error").Funcs(htmltemplate.FuncMap(funcs)).Parse(text)
		if err != nil {
			return nil, err
		}
		return htmlExec{t}, nil
	}
	t, err := texttemplate.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, err
	}
	return textExec{t}, nil
}

var funcs = texttemplate.FuncMap{
	"tag":         Tag,
	"subjectLine": SubjectLine,
	"kindTitle":   kindTitle,
	"date":        formatDate,
}

func formatDate(t time.Time) string {
	return t.Format("Monday 2 January 2006, 15:04 MST")
}

func ackName(kind string) string { return "ack_" + kind }

// fileFor names the file of one part of message name: ".txt.tmpl",
// ".html.tmpl" or "subject" (the per-message subject if there is one, else
// the shared ack_subject.tmpl).
func (s *Set) fileFor(name, part string) string {
	if part != "subject" {
		return name + part
	}
	if _, ok := s.tmpl[name+"_subject.tmpl"]; ok {
		return name + "_subject.tmpl"
	}
	return "ack_subject.tmpl"
}

// Render renders message name ("ack_case", "ack_order") with data. The
// subject is cut to one clean line and must not be empty; the text body is
// tidied (see package doc); an HTML body of only space becomes "".
func (s *Set) Render(name string, data AckData) (Rendered, error) {
	d, err := data.clean()
	if err != nil {
		return Rendered{}, err
	}
	if _, ok := s.tmpl[name+".txt.tmpl"]; !ok {
		return Rendered{}, fmt.Errorf("templates: no message named %q", name)
	}
	var r Rendered
	if r.Subject, err = s.execute(s.fileFor(name, "subject"), d); err != nil {
		return Rendered{}, err
	}
	if r.Text, err = s.execute(name+".txt.tmpl", d); err != nil {
		return Rendered{}, err
	}
	if _, ok := s.tmpl[name+".html.tmpl"]; ok {
		if r.HTML, err = s.execute(name+".html.tmpl", d); err != nil {
			return Rendered{}, err
		}
	}
	return r, nil
}

// RenderAck renders the acknowledgement for data.Kind.
func (s *Set) RenderAck(data AckData) (Rendered, error) {
	return s.Render(ackName(data.Kind), data)
}

// Source tells where template file name came from: "embedded" or the path
// of its override ("" when there is no such file).
func (s *Set) Source(name string) string { return s.source[name] }

func (s *Set) execute(name string, d AckData) (string, error) {
	ex, ok := s.tmpl[name]
	if !ok {
		return "", fmt.Errorf("templates: missing template %s", name)
	}
	var b bytes.Buffer
	if err := ex.Execute(&b, d); err != nil {
		return "", err
	}
	out := b.String()
	switch {
	case strings.HasSuffix(name, ".txt.tmpl"):
		out = tidyText(out)
		if out == "" {
			return "", fmt.Errorf("templates: %s rendered an empty body", name)
		}
	case strings.HasSuffix(name, ".html.tmpl"):
		if strings.TrimSpace(out) == "" {
			out = ""
		}
	default: // a subject
		out = cleanLine(out, 250)
		if out == "" {
			return "", fmt.Errorf("templates: %s rendered an empty subject", name)
		}
	}
	return out, nil
}

func knownNames(files map[string][]byte) string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	names = append(names, optional...)
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}
