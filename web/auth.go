package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/frontdesk/frontdesk/config"
)

// principal is the caller a token identifies.
type principal struct {
	name string
	role string
	// queues is the set a CSR may work; nil means every queue.
	queues map[string]bool
	// queueList is queues in configuration order, for listings.
	queueList []string
}

// mayQueue reports whether p may see and work queue q.
func (p *principal) mayQueue(q string) bool {
	return p.queues == nil || p.queues[q]
}

// credential is a configured token, kept as its SHA-256 so that comparing
// takes the same time whatever the length of the guess.
type credential struct {
	sum [sha256.Size]byte
	who *principal
}

// credentials turns the configured tokens into credentials. Tokens with an
// empty secret or an unknown role (which Validate rejects) grant nothing.
func credentials(tokens []config.Token) []credential {
	var out []credential
	for _, t := range tokens {
		if t.Token == "" || (t.Role != config.RoleCSR && t.Role != config.RoleSupervisor) {
			continue
		}
		p := &principal{name: t.Name, role: t.Role}
		if t.Role == config.RoleCSR && len(t.Queues) > 0 {
			p.queues = make(map[string]bool, len(t.Queues))
			for _, q := range t.Queues {
				if !p.queues[q] {
					p.queues[q] = true
					p.queueList = append(p.queueList, q)
				}
			}
		}
		out = append(out, credential{sum: sha256.Sum256([]byte(t.Token)), who: p})
	}
	return out
}

// authenticate returns the principal of r's bearer token, or nil. It
// compares the token with every credential in constant time and does not
// stop at a match.
func (s *server) authenticate(r *http.Request) (p *principal, presented bool) {
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 {
			p = s.tokens[i].who
		}
	}
	return p, true
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 9110 §11.1, RFC 6750 §2.1).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authedHandler is a handler that runs for an authenticated caller.
type authedHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// auth admits requests with a valid token; the rest get 401 with a
// WWW-Authenticate challenge (RFC 6750 §3).
func (s *server) auth(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, presented := s.authenticate(r)
		if p == nil {
			challenge := `Bearer realm="frontdesk"`
			msg := "missing bearer token"
			if presented {
				challenge += `, error="invalid_token"`
				msg = "invalid token"
			}
			w.Header().Set("WWW-Authenticate", challenge)
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		setActor(r, p.name)
		h(w, r, p)
	})
}
