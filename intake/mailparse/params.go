package mailparse

import (
	"bytes"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// mediaValue is a parsed Content-Type or Content-Disposition value.
type mediaValue struct {
	value  string            // lower case: "text/plain", "attachment"
	params map[string]string // lower-case names; RFC 2231 and 2047 decoded
}

// parseMediaValue parses a Content-Type or Content-Disposition field. The
// standard library parser is tried first; when it refuses the value
// (duplicate or malformed parameters, seen in the wild) or drops an RFC
// 2231 parameter in a charset other than UTF-8 (it knows only utf-8 and
// us-ascii), the lenient parser below fills in. ok is false when the value
// had to be repaired.
func parseMediaValue(s string) (mv mediaValue, ok bool) {
	v, params, err := mime.ParseMediaType(s)
	if err == nil {
		mv = mediaValue{value: strings.ToLower(v), params: params}
		if strings.Contains(s, "*") {
			// RFC 2231 parameters in other charsets come back missing.
			lp := lenientParams(s)
			for k, val := range lp {
				if _, have := mv.params[k]; !have {
					mv.params[k] = val
				}
			}
		}
		ok = true
	} else {
		v, rest, _ := strings.Cut(s, ";")
		v = strings.TrimSpace(v)
		// "application/pdf name=x.pdf": a parameter without its ';'.
		if i := strings.IndexAny(v, " \t"); i > 0 {
			rest = v[i:] + ";" + rest
			v = v[:i]
		}
		mv = mediaValue{value: strings.ToLower(v), params: lenientParams(";" + rest)}
	}
	for k, val := range mv.params {
		if strings.Contains(val, "=?") {
			if d, err := decodeWords(val); err == nil {
				mv.params[k] = d
			}
		}
	}
	return mv, ok
}

// lenientParams parses the parameters after the first ';' of a header
// value: quoted or bare values (a bare value runs to the next ';'),
// duplicate names (the first wins) and RFC 2231 extended and continued
// parameters in any charset go-message/charset knows.
func lenientParams(s string) map[string]string {
	_, rest, found := strings.Cut(s, ";")
	params := map[string]string{}
	if !found {
		return params
	}
	type piece struct {
		n       int
		encoded bool
		value   string
	}
	ext := map[string][]piece{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t\r\n;")
		if rest == "" {
			break
		}
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 || rest[eq] == ';' {
			// a name without a value
			if eq < 0 {
				break
			}
			rest = rest[eq+1:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t\r\n")
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' && i+1 < len(rest) {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			value = b.String()
			if i < len(rest) {
				i++
			}
			rest = rest[i:]
			if j := strings.IndexByte(rest, ';'); j >= 0 {
				rest = rest[j:]
			} else {
				rest = ""
			}
		} else {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			value = strings.TrimSpace(rest[:j])
			rest = rest[j:]
		}
		if name == "" {
			continue
		}
		// RFC 2231: name*=charset'lang'pct, name*0=, name*1*=...
		if base, sect, isExt := strings.Cut(name, "*"); isExt {
			p := piece{}
			switch {
			case sect == "":
				p.encoded = true
			default:
				num := strings.TrimSuffix(sect, "*")
				p.encoded = num != sect
				n, err := strconv.Atoi(num)
				if err != nil || n < 0 || n > 100 {
					continue
				}
				p.n = n
			}
			p.value = value
			ext[base] = append(ext[base], p)
			continue
		}
		if _, dup := params[name]; !dup {
			params[name] = value
		}
	}
	for base, pieces := range ext {
		sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].n < pieces[j].n })
		var raw bytes.Buffer
		cs := ""
		for i, p := range pieces {
			v := p.value
			if p.encoded {
				if i == 0 {
					// charset'language'value
					parts := strings.SplitN(v, "'", 3)
					if len(parts) == 3 {
						cs, v = parts[0], parts[2]
					}
				}
				if u, err := url.PathUnescape(v); err == nil {
					v = u
				}
			}
			raw.WriteString(v)
		}
		if val, ok := toUTF8(cs, raw.Bytes()); ok {
			params[base] = val
		} else if _, have := params[base]; !have {
			params[base] = strings.ToValidUTF8(raw.String(), "\uFFFD")
		}
	}
	return params
}

// toUTF8 converts b from the named charset to UTF-8.
func toUTF8(label string, b []byte) (string, bool) {
	out, err := decodeCharset(label, b)
	return out, err == nil
}
