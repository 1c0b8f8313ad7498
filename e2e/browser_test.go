package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// TestBrowserFormPost runs web forms in a real browser (headless
// Chromium): a page of an allowed origin fetches a token and posts a
// FormData submission cross-origin, and gets the case number back (CORS
// preflight, token and answer as browsers enforce them); a page of another
// origin cannot get a token (the browser blocks the answer), and its
// classic HTML form post, which browsers send with its Origin and no
// token, is refused — nothing of it is stored (RELIABILITY S2).
func TestBrowserFormPost(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium is not installed (make test installs it)")
	}
	var daemon string // the desk's base URL, known once its address is
	page := func(body string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, strings.ReplaceAll(body, "DAEMON", daemon))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	const script = `<!doctype html><title>loading</title><script>
(async () => {
  try {
    const t = await (await fetch("DAEMON/intake/forms/contact/token")).json();
    const fd = new FormData();
    fd.append("email", "browser@example.net");
    fd.append("subject", "Sent from a browser");
    fd.append("message", "Hello from a real browser.");
    fd.append("upload", new Blob(["a text file"], {type: "text/plain"}), "note.txt");
    const r = await fetch("DAEMON/intake/forms/contact", {method: "POST", headers: {"X-Frontdesk-Token": t.token}, body: fd});
    const j = await r.json();
    document.title = "done " + r.status + " " + (j.reference || j.reason);
  } catch (e) {
    document.title = "error " + e.name;
  }
})();
</script>`
	const classic = `<!doctype html><title>form</title>
<form id="f" method="post" action="DAEMON/intake/forms/contact">
<input name="email" value="classic@example.net"><input name="message" value="no token">
</form><script>document.getElementById("f").submit();</script>`
	allowed, other, otherForm := page(script), page(script), page(classic)

	d := newDesk(t, true, "forms:\n  - {name: contact, secret: "+formSecret+", queue: web, allowed_origins: ["+allowed.URL+"]}\n")
	d.start()
	daemon = "http://" + d.httpAddr

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	// open loads url in a new tab, for a minute at most.
	open := func(url string) (context.Context, context.CancelFunc) {
		t.Helper()
		tab, cancelTab := chromedp.NewContext(bctx)
		ctx, cancel := context.WithTimeout(tab, time.Minute)
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("load %s: %v", url, err)
		}
		return ctx, func() { cancel(); cancelTab() }
	}
	// title loads url and waits until its title starts with one of
	// prefixes (the page's script sets it).
	title := func(url string, prefixes ...string) string {
		t.Helper()
		ctx, cancel := open(url)
		defer cancel()
		var got string
		for ctx.Err() == nil {
			if s, err := chromedp.Run(ctx, chromedp.Title()); err == nil {
				got = s
				for _, p := range prefixes {
					if strings.HasPrefix(got, p) {
						return got
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: title %q after a minute", url, got)
		return ""
	}
	// bodyText loads url (which navigates on) and returns the final page's text.
	bodyText := func(url string) string {
		t.Helper()
		ctx, cancel := open(url)
		defer cancel()
		const final = `location.href.includes("/intake/") && document.body ? document.body.innerText : ""`
		for ctx.Err() == nil {
			if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](final)); err == nil && text != "" {
				return text
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: no answer page after a minute", url)
		return ""
	}

	got := title(allowed.URL, "done", "error")
	if !strings.HasPrefix(got, "done 202 C-") {
		t.Fatalf("the allowed origin's page: %q; want a 202 with the case number", got)
	}
	if got := title(other.URL, "done", "error"); !strings.HasPrefix(got, "error") {
		t.Fatalf("another origin's page: %q; want the browser to block it", got)
	}
	if text := bodyText(otherForm.URL); !strings.Contains(text, `"reason":"origin"`) {
		t.Fatalf("classic cross-origin form post answered %q; want a refusal for its origin", text)
	}

	db := d.ledger()
	d.waitSettled(db, 1, time.Minute)
	acks := d.smtp.WaitFor(1, time.Minute)
	ref := strings.TrimPrefix(got, "done 202 ")
	if len(acks) != 1 || acks[0].To[0] != "browser@example.net" || !strings.Contains(string(acks[0].Raw), ref) {
		t.Fatalf("acknowledgements: %d %+v; want one to browser@example.net quoting %s", len(acks), acks, ref)
	}
	if n, err := countInbound(db); err != nil || n != 1 {
		t.Fatalf("%d inbound rows (%v); want only the allowed page's", n, err)
	}
}
