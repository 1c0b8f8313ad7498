package webhook_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontdesk/frontdesk/intake/webhook"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store/blob"
	"github.com/frontdesk/frontdesk/store/sqlite"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// The web origins the rig's browser forms allow.
const (
	originWWW  = "https://www.example.com"
	originShop = "https://shop.example.com"
)

type rig struct {
	srv   *httptest.Server
	key   []byte
	now   time.Time
	db    *sqlite.DB
	redis *testenv.Redis
	blobs *blob.Store
	// newKey is the current key of form "rotated", whose old key is key.
	newKey   []byte
	counters *webhook.Counters
}

// newRig serves, over real HTTP with real SQLite, blobs and Redis, the
// forms "contact" (signed posts only), "web" (also browser posts from
// originWWW and originShop) and "rotated" (like web from originWWW, in
// the middle of a secret rotation: newKey current, key old).
func newRig(t *testing.T) *rig { return newRigWrapped(t, nil) }

// newRigWrapped is newRig with its routes wrapped by wrap (nil: none).
func newRigWrapped(t *testing.T, wrap func(http.Handler) http.Handler) *rig {
	t.Helper()
	ar := newAcceptRig(t)
	key, _ := webhook.Key(secret)
	newKey, _ := webhook.Key("whsec_" + base64.StdEncoding.EncodeToString([]byte("the next secret, 32 bytes long!!")))
	counters, err := webhook.NewCounters(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{key: key, newKey: newKey, now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), db: ar.db, redis: ar.redis, blobs: ar.blobs, counters: counters}
	mapping := webhook.Mapping{Email: "email", Name: "name", Subject: "subject", Message: "message"}
	h := &webhook.FormHandler{
		Forms: map[string]*webhook.FormConfig{
			"contact": {
				Name: "contact", Keys: [][]byte{key}, Intent: message.IntentCase, Queue: "support",
				Mapping: mapping, MaxBodyBytes: 4096,
			},
			"web": {
				Name: "web", Keys: [][]byte{key}, Intent: message.IntentCase, Queue: "support",
				Mapping: mapping, MaxBodyBytes: 4096, AllowedOrigins: []string{originWWW, originShop},
			},
			"rotated": {
				Name: "rotated", Keys: [][]byte{newKey, key}, Intent: message.IntentCase, Queue: "support",
				Mapping: mapping, MaxBodyBytes: 4096, AllowedOrigins: []string{originWWW},
			},
		},
		Acceptor: ar.acc,
		Domain:   "desk.example.test",
		Now:      func() time.Time { return r.now },
		Log:      ar.log,
		Counters: counters,
	}
	mux := http.NewServeMux()
	h.Register(mux)
	var handler http.Handler = mux
	if wrap != nil {
		handler = wrap(mux)
	}
	r.srv = httptest.NewServer(handler)
	t.Cleanup(r.srv.Close)
	return r
}

// post sends body to form, signed as webhook id at the rig's time unless
// sign is false.
func (r *rig) post(t *testing.T, form, id, ct, body string, sign bool) (int, map[string]any, http.Header) {
	t.Helper()
	key := r.key
	if !sign {
		key = []byte("some-other-key-of-length")
	}
	a := r.do(t, http.MethodPost, "/intake/forms/"+form, map[string]string{
		"Content-Type":          ct,
		webhook.HeaderID:        id,
		webhook.HeaderTimestamp: strconv.FormatInt(r.now.Unix(), 10),
		webhook.HeaderSignature: webhook.Sign(key, id, r.now, []byte(body)),
	}, body)
	return a.code, a.body, a.hdr
}

func TestFormHandler(t *testing.T) {
	r := newRig(t)
	const good = `{"email":"ann@example.net","name":"Ann","subject":"Kettle","message":"The lid cracked."}`
	code, out, _ := r.post(t, "contact", "msg_1", "application/json", good, true)
	if code != http.StatusAccepted || out["status"] != "accepted" || out["inbound_id"] == nil {
		t.Fatalf("good submission: %d %v", code, out)
	}
	first := out["inbound_id"]
	in, err := r.db.Inbound(t.Context(), int64(first.(float64)))
	if err != nil || in.Channel != message.ChannelForm || in.Queue != "support" {
		t.Fatalf("ledger row %+v %v", in, err)
	}
	// The same webhook id again: the same inbound row, no second one.
	code, out, _ = r.post(t, "contact", "msg_1", "application/json", good, true)
	if code != http.StatusAccepted || out["inbound_id"] != first || out["duplicate"] != true {
		t.Fatalf("re-post: %d %v", code, out)
	}

	for _, c := range []struct {
		name, form, ct, body string
		sign                 bool
		code                 int
		field                string
	}{
		{"bad signature", "contact", "application/json", good, false, http.StatusUnauthorized, ""},
		{"unknown form", "nope", "application/json", good, true, http.StatusNotFound, ""},
		{"no email", "contact", "application/json", `{"message":"hi"}`, true, http.StatusBadRequest, "email"},
		{"not json", "contact", "application/json", `{"message":`, true, http.StatusBadRequest, "(body)"},
		{"xml", "contact", "text/xml", `<a/>`, true, http.StatusUnsupportedMediaType, ""},
		{"too large", "contact", "application/json", `{"message":"` + strings.Repeat("x", 5000) + `"}`, true, http.StatusRequestEntityTooLarge, ""},
	} {
		code, out, _ := r.post(t, c.form, "msg_"+c.name, c.ct, c.body, c.sign)
		if code != c.code || (c.field != "" && out["field"] != c.field) || out["error"] == "" {
			t.Errorf("%s: %d %v, want %d naming %q", c.name, code, out, c.code, c.field)
		}
	}

	// A replay outside the window is refused, whatever its signature.
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/intake/forms/contact", bytes.NewReader([]byte(good)))
	req.Header.Set("Content-Type", "application/json")
	old := r.now.Add(-10 * time.Minute)
	req.Header.Set(webhook.HeaderID, "msg_old")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(old.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(r.key, "msg_old", old, []byte(good)))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stale timestamp: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}

	// Redis down: not accepted, and the sender is told to retry — 503,
	// never a code that makes a provider give up.
	if err := r.redis.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	code, out, hdr := r.post(t, "contact", "msg_2", "application/json", good, true)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || out["status"] != "retry" {
		t.Fatalf("with Redis down: %d %v %v", code, out, hdr)
	}
}
