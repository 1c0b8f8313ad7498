package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Test card numbers (15, 16 and 19 digits), each Luhn-valid.
var testCards = []string{"378282246310005", "4111111111111111", "5555555555554444", "6011000990139424", "4000056655665556000"}

// TestFormCardNumbersMasked is RELIABILITY P1 for web forms: card numbers
// posted in form fields — JSON, URL-encoded (spaces as '+'), multipart with
// a text upload — spaced, dashed or plain, some with a CVV beside them,
// leave no full number anywhere afterwards: not in the data directory (the
// database and its WAL, blobs, the daemon's log) and not in Redis.
func TestFormCardNumbersMasked(t *testing.T) {
	d := newDesk(t, true, "forms:\n  - {name: contact, secret: "+formSecret+", queue: web}\n")
	d.start()
	spaced := func(c string) string {
		return strings.TrimSpace(regexp.MustCompile(`(\d{4})`).ReplaceAllString(c, "$1 "))
	}
	dashed := func(c string) string { return strings.ReplaceAll(spaced(c), " ", "-") }

	posts := []struct{ ct, body string }{
		{"application/json", fmt.Sprintf(`{"email":"p1-json@example.net","subject":"card %s","message":"My card is %s CVV 123, also %s","phone":"%s"}`,
			testCards[0], spaced(testCards[1]), dashed(testCards[2]), testCards[3])},
		{"application/x-www-form-urlencoded", url.Values{
			"email":   {"p1-form@example.net"},
			"subject": {"card " + spaced(testCards[4])},
			"message": {"Pay with " + spaced(testCards[1]) + " cvc 321 or " + testCards[0]},
		}.Encode()},
	}
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("email", "p1-upload@example.net")
	_ = w.WriteField("message", "card "+dashed(testCards[3])+" see file")
	fw, _ := w.CreateFormFile("file", "card.txt")
	fmt.Fprintf(fw, "the card: %s exp 12/29 cvv 999\n", spaced(testCards[2]))
	_ = w.Close()
	posts = append(posts, struct{ ct, body string }{w.FormDataContentType(), mp.String()})

	for i, p := range posts {
		if code, out := d.postForm("contact", fmt.Sprintf("msg_p1_%d", i), p.ct, p.body); code != http.StatusAccepted {
			t.Fatalf("post %d (%s): %d %v", i, p.ct, code, out)
		}
	}
	db := d.ledger()
	d.waitSettled(db, len(posts), time.Minute)
	d.smtp.WaitFor(len(posts), time.Minute)
	d.stop() // flush the log, checkpoint the database

	found := map[string][]string{}
	err := filepath.WalkDir(d.dataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, c := range cardsIn(b) {
			found[c] = append(found[c], path+" "+around(b, c))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cardsIn(redisDump(t, d.redis.Addr())) {
		found[c] = append(found[c], "redis")
	}
	for _, m := range d.smtp.Messages() {
		for _, c := range cardsIn(m.Raw) {
			found[c] = append(found[c], "acknowledgement to "+strings.Join(m.To, ","))
		}
	}
	for c, where := range found {
		t.Errorf("card %s…%s found in %v", c[:6], c[len(c)-4:], where)
	}
}

// cardsIn returns the test cards written in b, plain or with one space,
// dash, '+' or "%20" between digits.
func cardsIn(b []byte) []string {
	var out []string
	for _, m := range cardRun.FindAll(b, -1) {
		digits := regexp.MustCompile(`\D`).ReplaceAll(bytes.ReplaceAll(m, []byte("%20"), nil), nil)
		for _, c := range testCards {
			if bytes.Contains(digits, []byte(c)) {
				out = append(out, c)
			}
		}
	}
	return out
}

var cardRun = regexp.MustCompile(`\d(?:(?:[ +\-]|%20)?\d){12,}`)

// redisDump returns every string, hash, list, set and sorted-set value in
// Redis, concatenated.
func redisDump(t *testing.T, addr string) []byte {
	t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	var out bytes.Buffer
	iter := rc.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		out.WriteString(k + "\n")
		switch rc.Type(ctx, k).Val() {
		case "string":
			out.WriteString(rc.Get(ctx, k).Val())
		case "hash":
			for f, v := range rc.HGetAll(ctx, k).Val() {
				out.WriteString(f + "=" + v + "\n")
			}
		case "list":
			out.WriteString(strings.Join(rc.LRange(ctx, k, 0, -1).Val(), "\n"))
		case "set":
			out.WriteString(strings.Join(rc.SMembers(ctx, k).Val(), "\n"))
		case "zset":
			out.WriteString(strings.Join(rc.ZRange(ctx, k, 0, -1).Val(), "\n"))
		}
		out.WriteByte('\n')
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// around returns up to 60 bytes around the first match of card c in b,
// its digits hidden, to tell where it was found.
func around(b []byte, c string) string {
	for _, loc := range cardRun.FindAllIndex(b, -1) {
		m := b[loc[0]:loc[1]]
		if !bytes.Contains(regexp.MustCompile(`\D`).ReplaceAll(bytes.ReplaceAll(m, []byte("%20"), nil), nil), []byte(c)) {
			continue
		}
		from, to := max(0, loc[0]-60), min(len(b), loc[1]+60)
		return fmt.Sprintf("%q", string(b[from:loc[0]])+"<card>"+string(b[loc[1]:to]))
	}
	return ""
}
