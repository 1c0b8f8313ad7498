package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// The two web forms the daemon serves in the form scenarios: contact
// (intent case) and order (intent order, with order lines). Both are
// signed with formSecret.
const (
	contactForm = "contact"
	orderForm   = "order"
	// formSecret is a Standard Webhooks secret ("whsec_" and base64).
	formSecret = "whsec_ZnJvbnRkZXNrLWJlbmNoLWZvcm0tc2lnbmluZy1rZXk="
	// submitterDomain is the domain of every submitter's address.
	submitterDomain = "customers.example.test"
)

// formFields is the JSON a site's back end posts for one submission. The
// names match the daemon's default field mapping (email, name, subject,
// message), plus phone and order_lines as the bench configures them;
// the rest are the extra fields real forms carry, which the daemon keeps
// as lines of the message.
type formFields struct {
	Email      string      `json:"email"`
	Name       string      `json:"name"`
	Subject    string      `json:"subject,omitempty"`
	Message    string      `json:"message,omitempty"`
	Phone      string      `json:"phone"`
	Page       string      `json:"page"`
	Language   string      `json:"language"`
	Consent    bool        `json:"consent"`
	OrderLines []orderLine `json:"order_lines,omitempty"`
	Delivery   string      `json:"delivery_address,omitempty"`
}

type orderLine struct {
	SKU         string `json:"sku"`
	Description string `json:"description"`
	Quantity    int    `json:"qty"`
	UnitPrice   string `json:"unit_price"`
}

// isOrder says whether submission i goes to the order form: every n-th.
func isOrder(i, every int) bool { return every > 0 && i%every == every-1 }

// formSubmission is submission i of run: the form it is posted to and its
// JSON body, 0.5–3 KB. The submitter's address, submitterAddr(run, i), is
// its own, so that per-address acknowledgement caps never apply and the
// acknowledgement is matched to it by recipient.
func formSubmission(run string, i int, order bool) (form string, body []byte, err error) {
	form = contactForm
	if order {
		form = orderForm
	}
	f := formFields{
		Email:    submitterAddr(run, i),
		Name:     fmt.Sprintf("Customer %d", i),
		Phone:    fmt.Sprintf("+44 20 7946 %04d", i%10000),
		Page:     fmt.Sprintf("https://www.example.test/%s?utm_source=newsletter&utm_campaign=c%d", form, i%40),
		Language: "en-GB",
		Consent:  true,
	}
	if order {
		f.Subject = fmt.Sprintf("Order from the web shop (ref %d)", i)
		f.Message = "Please deliver in the morning if you can; the side door is open from 8."
		for k := range 1 + i%4 {
			p := products[(i+k)%len(products)]
			f.OrderLines = append(f.OrderLines, orderLine{SKU: p.sku, Description: p.desc, Quantity: 1 + (i+k)%3, UnitPrice: p.price})
		}
		f.Delivery = fmt.Sprintf("Flat %d, %d Harbour Street, Portsmouth PO1 %dAB, United Kingdom", i%30+1, i%200+1, i%9+1)
	} else {
		f.Subject = fmt.Sprintf("%s (ref %d)", subjects[i%len(subjects)], i)
		var b strings.Builder
		b.WriteString(strings.ReplaceAll(fmt.Sprintf(bodies[i%len(bodies)], i), "\r\n", "\n"))
		for k := range 1 + i*3%10 { // 1–10 more paragraphs: 0.5–3 KB in all
			b.WriteString("\n\n")
			b.WriteString(paragraphs[(i+k)%len(paragraphs)])
		}
		f.Message = b.String()
	}
	if body, err = json.Marshal(f); err != nil {
		return "", nil, fmt.Errorf("submission %d: %w", i, err)
	}
	return form, body, nil
}

// submitterAddr is the e-mail address of submission i of run.
func submitterAddr(run string, i int) string {
	return fmt.Sprintf("load-%s-%d@%s", run, i, submitterDomain)
}

// recipientMatch matches an acknowledgement to the submission of run it
// answers by its envelope recipient, submitterAddr(run, i); formLoad.match
// also checks its In-Reply-To.
func recipientMatch(run string) func(testenv.Received) (int, bool) {
	prefix, suffix := "load-"+run+"-", "@"+submitterDomain
	return func(r testenv.Received) (int, bool) {
		for _, to := range r.To {
			rest, ok := strings.CutPrefix(strings.ToLower(to), prefix)
			if !ok {
				continue
			}
			n, ok := strings.CutSuffix(rest, suffix)
			if !ok {
				continue
			}
			if i, err := strconv.Atoi(n); err == nil && i >= 0 {
				return i, true
			}
		}
		return 0, false
	}
}

// formsYAML is the daemon's forms section for the form scenarios.
func formsYAML() string {
	return "forms:\n" +
		fmt.Sprintf("  - {name: %s, secret: %q, intent: case, queue: web, fields: {phone: phone}}\n", contactForm, formSecret) +
		fmt.Sprintf("  - {name: %s, secret: %q, intent: order, queue: web-orders, fields: {phone: phone, order_lines: order_lines}}\n", orderForm, formSecret)
}

var products = []struct{ sku, desc, price string }{
	{"KT-1700-BS", "Kettle, 1.7 l, brushed steel", "39.90"},
	{"TS-2S-CR", "Toaster, two slots, cream", "29.50"},
	{"FP-8C-BLK", "French press, eight cups, black", "24.00"},
	{"MG-SET4-WH", "Mugs, set of four, white stoneware", "18.75"},
	{"CF-GR-500", "Coffee, ground, 500 g, medium roast", "8.95"},
	{"DS-RCK-BB", "Dish rack, bamboo, with cutlery holder", "22.40"},
}

var paragraphs = []string{
	"I have been a customer for several years and this is the first time something like this has happened, " +
		"so I am sure it can be sorted out quickly. I tried the help pages first but could not find anything that " +
		"matched my situation, and the chat was closed when I looked yesterday evening.",
	"For reference: I paid by card and received the confirmation e-mail straight away. The account is in my " +
		"name, and the delivery address is the same as the billing address. I am happy to send a copy of the " +
		"confirmation or a photo if that helps.",
	"Could you also let me know whether I need to do anything on my side? If a call is easier, I am reachable " +
		"on the number above on weekdays between nine and five; otherwise an e-mail reply is fine.",
	"Thank you in advance for looking into it. I would appreciate a short note once you know more, even if the " +
		"answer is that it will take a few more days.",
}
