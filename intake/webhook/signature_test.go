package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The reference vector published with the Standard Webhooks specification.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specHeaders(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, specID)
	h.Set(HeaderTimestamp, strconv.Itoa(specTS))
	h.Set(HeaderSignature, sig)
	return h
}

func TestSignReferenceVector(t *testing.T) {
	key, err := Key(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := Sign(key, specID, time.Unix(specTS, 0), []byte(specBody)); got != specSig {
		t.Fatalf("Sign = %s, want %s", got, specSig)
	}
}

func TestVerify(t *testing.T) {
	key, _ := Key(specSecret)
	other, _ := Key("another-secret-of-enough-length")
	at := time.Unix(specTS, 0)
	body := []byte(specBody)
	cases := []struct {
		name    string
		h       http.Header
		body    []byte
		now     time.Time
		keys    [][]byte
		wantErr error
	}{
		{"reference", specHeaders(specSig), body, at, [][]byte{key}, nil},
		{"rotation: second key", specHeaders(specSig), body, at, [][]byte{other, key}, nil},
		{"several signatures, one good", specHeaders("v1,AAAA v1a,xyz " + specSig), body, at, [][]byte{key}, nil},
		{"edge of the window", specHeaders(specSig), body, at.Add(DefaultTolerance), [][]byte{key}, nil},
		{"body changed", specHeaders(specSig), []byte(`{"test": 2432232315}`), at, [][]byte{key}, ErrSignature},
		{"wrong key", specHeaders(specSig), body, at, [][]byte{other}, ErrSignature},
		{"unknown version", specHeaders("v2," + specSig[3:]), body, at, [][]byte{key}, ErrSignature},
		{"not base64", specHeaders("v1,%%%"), body, at, [][]byte{key}, ErrSignature},
		{"too old", specHeaders(specSig), body, at.Add(DefaultTolerance + time.Second), [][]byte{key}, ErrTimestamp},
		{"from the future", specHeaders(specSig), body, at.Add(-DefaultTolerance - time.Second), [][]byte{key}, ErrTimestamp},
		{"no signature header", func() http.Header { h := specHeaders(specSig); h.Del(HeaderSignature); return h }(), body, at, [][]byte{key}, ErrMissingHeaders},
		{"bad timestamp", func() http.Header { h := specHeaders(specSig); h.Set(HeaderTimestamp, "1e9"); return h }(), body, at, [][]byte{key}, ErrTimestamp},
		{"huge timestamp", func() http.Header { h := specHeaders(specSig); h.Set(HeaderTimestamp, "99999999999999999"); return h }(), body, at, [][]byte{key}, ErrTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := Verify(c.h, c.body, c.now, DefaultTolerance, c.keys...)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if c.wantErr == nil && id != specID {
				t.Fatalf("id %q, want %q", id, specID)
			}
		})
	}
}

func TestKey(t *testing.T) {
	for _, bad := range []string{"short", "whsec_!!notbase64", "whsec_c2hvcnQ="} {
		if _, err := Key(bad); !errors.Is(err, ErrSecret) {
			t.Errorf("Key(%q): %v, want ErrSecret", bad, err)
		}
	}
	if k, err := Key("a-plain-secret-of-20b"); err != nil || string(k) != "a-plain-secret-of-20b" {
		t.Fatalf("plain secret: %q %v", k, err)
	}
}

func TestVerifyMailgun(t *testing.T) {
	key := []byte("key-mailgun-signing-0123456789")
	now := time.Unix(1_790_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	token := "50f2fbb6b2f94b1e9fd0fd1a5e1e5f7c3d2a1b0c9d8e7f6a5b"
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + token))
	sig := hex.EncodeToString(m.Sum(nil))
	if err := VerifyMailgun(key, ts, token, sig, now, MailgunMaxAge); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	for name, c := range map[string]struct {
		ts, token, sig string
		now            time.Time
		want           error
	}{
		"other token":      {ts, token + "x", sig, now, ErrSignature},
		"not hex":          {ts, token, "zz" + sig[2:], now, ErrSignature},
		"stale":            {ts, token, sig, now.Add(MailgunMaxAge + time.Minute), ErrTimestamp},
		"a retry, 4 h old": {ts, token, sig, now.Add(4 * time.Hour), nil},
		"future":           {ts, token, sig, now.Add(-6 * time.Minute), ErrTimestamp},
		"missing token":    {ts, "", sig, now, ErrMissingHeaders},
		"uppercase hex ok": {ts, token, upper(sig), now, nil},
	} {
		if err := VerifyMailgun(key, c.ts, c.token, c.sig, c.now, MailgunMaxAge); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzVerify: whatever the headers and body, Verify never panics, and it
// accepts only what Sign produced for the same id, time and body.
func FuzzVerify(f *testing.F) {
	f.Add(specID, strconv.Itoa(specTS), specSig, []byte(specBody))
	f.Add("", "", "", []byte{})
	f.Add("id", "-1", "v1,", []byte("x"))
	f.Add("id", "1614265330", "v1,,v1 v1,====", []byte("x"))
	key, _ := Key(specSecret)
	at := time.Unix(specTS, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		got, err := Verify(h, body, at, DefaultTolerance, key)
		if err != nil {
			return
		}
		// Forging an HMAC is out of the fuzzer's reach: an accepted
		// request carries the very signature Sign makes.
		sec, _ := strconv.ParseInt(ts, 10, 64)
		want := Sign(key, id, time.Unix(sec, 0), body)
		if got != id || !slices.Contains(strings.Fields(sig), want) {
			t.Fatalf("accepted %q/%q/%q for %q", id, ts, sig, body)
		}
	})
}
