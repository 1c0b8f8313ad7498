package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/frontdesk/frontdesk/message"
)

// Form is a web form whose submissions are posted, signed, to
// POST /intake/forms/<name>.
type Form struct {
	Name string `yaml:"name"`
	// Secret signs submissions the Standard Webhooks way: "whsec_<base64>"
	// or a plain secret of at least 16 bytes. OldSecret, while set, is
	// accepted too: rotate by moving the secret there and setting a new one.
	Secret    string `yaml:"secret"`
	OldSecret string `yaml:"old_secret"`
	// Intent of a submission: case or order. Default case.
	Intent string `yaml:"intent"`
	// Queue for its work; default the form's name.
	Queue string `yaml:"queue"`
	// Fields names the form's fields.
	Fields FormFields `yaml:"fields"`
	// MaxBodyBytes bounds a submission, uploads included; default 10 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// AllowedOrigins lets browsers post the form directly from these web
	// origins ("https://www.example.com"), without a signature: the page
	// fetches a short-lived token from GET /intake/forms/<name>/token and
	// sends it with the submission (CSRF-safe). Empty: only signed posts.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// FormFields maps a form's field names; email is required in every
// submission, and message or order_lines.
type FormFields struct {
	Email      string `yaml:"email"`
	Name       string `yaml:"name"`
	Subject    string `yaml:"subject"`
	Message    string `yaml:"message"`
	Phone      string `yaml:"phone"`
	OrderLines string `yaml:"order_lines"`
}

// MaxFormBodyBytes is the largest max_body_bytes accepted.
const MaxFormBodyBytes = 50 << 20

// formDefaults fills what a form left out.
func (f *Form) formDefaults() {
	if f.Intent == "" {
		f.Intent = string(message.IntentCase)
	}
	if f.Queue == "" {
		f.Queue = f.Name
	}
	if f.MaxBodyBytes == 0 {
		f.MaxBodyBytes = 10 << 20
	}
	ff := &f.Fields
	for _, d := range []struct {
		field *string
		def   string
	}{{&ff.Email, "email"}, {&ff.Name, "name"}, {&ff.Subject, "subject"}, {&ff.Message, "message"}} {
		if *d.field == "" {
			*d.field = d.def
		}
	}
}

func (c *Config) validateForms(v *validator) {
	names := map[string]int{}
	for i, f := range c.Forms {
		p := fmt.Sprintf("forms[%d]", i)
		v.name(p+".name", f.Name)
		v.unique(names, "forms", i, f.Name)
		if f.Secret == "" {
			v.add(p+".secret", "required (or set FRONTDESK_FORMS_%d_SECRET or ..._SECRET_FILE)", i)
		} else if err := formSecret(f.Secret); err != "" {
			v.add(p+".secret", "%s", err)
		}
		if f.OldSecret != "" {
			if err := formSecret(f.OldSecret); err != "" {
				v.add(p+".old_secret", "%s", err)
			}
		}
		v.oneOf(p+".intent", f.Intent, string(message.IntentCase), string(message.IntentOrder))
		v.name(p+".queue", f.Queue)
		if f.Fields.Email == "" {
			v.add(p+".fields.email", "required: the field holding the submitter's e-mail address")
		}
		for j, o := range f.AllowedOrigins {
			if !validOrigin(o) {
				v.add(fmt.Sprintf("%s.allowed_origins[%d]", p, j), "not a web origin (scheme://host[:port], no path): %q", o)
			}
		}
		if f.MaxBodyBytes < 1 || f.MaxBodyBytes > MaxFormBodyBytes {
			v.add(p+".max_body_bytes", "must be between 1 and %d, got %d", int64(MaxFormBodyBytes), f.MaxBodyBytes)
		}
	}
}

// formSecret says what is wrong with a signing secret, or "".
func formSecret(s string) string {
	key := []byte(s)
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "a whsec_ secret must be base64 after the prefix"
		}
		key = b
	}
	if len(key) < 16 {
		return "shorter than 16 bytes"
	}
	return ""
}

// Secrets are the form's signing secrets, the current one first.
func (f *Form) Secrets() []string {
	if f.OldSecret == "" {
		return []string{f.Secret}
	}
	return []string{f.Secret, f.OldSecret}
}

// validOrigin tells whether s is a serialised web origin: http or https,
// a host, an optional port, nothing else.
func validOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && s == u.Scheme+"://"+u.Host
}
