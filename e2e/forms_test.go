package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/intake/webhook"
)

const formSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestWebForm posts signed form submissions to the daemon: each is answered
// 202 once durable, becomes one case with one acknowledgement to the
// submitter, and a re-post of the same webhook id is the same submission.
func TestWebForm(t *testing.T) {
	d := newDesk(t, true, "forms:\n  - {name: contact, secret: "+formSecret+", queue: web}\n")
	d.start()
	post := func(id, body string) (int, map[string]any) {
		t.Helper()
		return d.postForm("contact", id, "application/json", body)
	}
	body := `{"email":"web.customer@example.net","name":"Wendy","subject":"Order never came","message":"I ordered on Monday."}`
	code, out := post("msg_form_1", body)
	ref, _ := out["reference"].(string)
	if code != http.StatusAccepted || !strings.HasPrefix(ref, "C-") {
		t.Fatalf("submission: %d %v; want 202 with a case number", code, out)
	}
	if code, out := post("msg_form_1", body); code != http.StatusAccepted || out["duplicate"] != true || out["reference"] != ref {
		t.Fatalf("re-post: %d %v; want 202 duplicate with reference %s", code, out, ref)
	}
	if code, _ := post("msg_form_2", `{"message":"no address"}`); code != http.StatusBadRequest {
		t.Fatalf("bad submission: %d, want 400", code)
	}
	msgs := d.smtp.WaitFor(1, time.Minute)
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "web.customer@example.net" {
		t.Fatalf("acknowledgements: %d, to %v", len(msgs), msgs)
	}
	if !strings.Contains(string(msgs[0].Raw), ref) {
		t.Fatalf("the acknowledgement does not quote the number %s the form was answered with", ref)
	}
	db := d.ledger()
	d.waitSettled(db, 1, time.Minute)
	time.Sleep(time.Second) // a second ack would have come by now
	if n := d.smtp.Count(); n != 1 {
		t.Fatalf("%d acknowledgements for one submission posted twice", n)
	}
	// Routed to the form's queue, where a supervisor sees it.
	var queues struct {
		Queues []struct {
			Name string `json:"name"`
			Open int    `json:"open"`
		} `json:"queues"`
	}
	if code := d.api("GET", "/api/v1/queues", supervisorToken, &queues); code != 200 {
		t.Fatalf("queues: %d", code)
	}
	found := false
	for _, q := range queues.Queues {
		found = found || (q.Name == "web" && q.Open == 1)
	}
	if !found {
		t.Fatalf("no work item in queue web: %+v", queues)
	}
	// Every answer is counted, refusals by reason.
	resp, err := http.Get("http://" + d.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`frontdesk_intake_http_answers_total{channel="form",code="202",endpoint="contact",reason="accepted"} 1`,
		`frontdesk_intake_http_answers_total{channel="form",code="202",endpoint="contact",reason="duplicate"} 1`,
		`frontdesk_intake_http_answers_total{channel="form",code="400",endpoint="contact",reason="bad_field"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// postForm posts body to form, signed with formSecret under webhook id, and
// returns the status and the decoded JSON answer.
func (d *desk) postForm(form, id, contentType, body string) (int, map[string]any) {
	d.t.Helper()
	key, _ := webhook.Key(formSecret)
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.httpAddr+"/intake/forms/"+form, strings.NewReader(body))
	now := time.Now()
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(webhook.HeaderID, id)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(key, id, now, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
