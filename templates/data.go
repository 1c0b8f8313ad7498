package templates

import (
	"fmt"
	"time"
)

// AckData is what an acknowledgement template sees. Render cleans every
// string first: customer text is cut to one tidy line of bounded length and
// never includes the customer's message body, at most their subject.
type AckData struct {
	// CustomerName is the customer's display name; empty when unknown or
	// when it looks like an address or a link (then templates greet
	// without a name).
	CustomerName string
	// Number is the case or order number: "C-000123", "O-000123".
	Number string
	// Kind is KindCase or KindOrder.
	Kind string
	// Subject is the customer's own subject line. Templates see it without
	// reply prefixes and without our own tag ("RE: [Case C-000123] Printer"
	// becomes "Printer").
	Subject string
	// ExpectBy is when the first answer is due (its location is the one
	// shown); zero when there is no promise to make.
	ExpectBy time.Time
	// ExpectWithin is the same promise as a duration for people: "4 hours"
	// (see HumanDuration).
	ExpectWithin string
	// Priority is urgent, high, normal or low.
	Priority string
	// CardWarning is set when a payment card number was masked in the
	// customer's message: the acknowledgement asks them not to send card
	// numbers by e-mail (PCI DSS 4.2.2).
	CardWarning bool
	// Company is the name of the business; FromName signs the message
	// ("Customer Service"). When both are empty, FromName is
	// DefaultFromName.
	Company  string
	FromName string
}

// DefaultFromName signs an acknowledgement that has neither Company nor
// FromName.
const DefaultFromName = "Customer Service"

// Rendered is one rendered message. HTML is empty when the HTML template
// renders to nothing but space (text-only mail).
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// clean returns d with every string made safe for the templates.
func (d AckData) clean() (AckData, error) {
	if d.Kind != KindCase && d.Kind != KindOrder {
		return d, fmt.Errorf("templates: unknown kind %q", d.Kind)
	}
	if !ValidNumber(d.Kind, d.Number) {
		return d, fmt.Errorf("templates: %q is not a valid %s number", d.Number, d.Kind)
	}
	d.CustomerName = cleanName(d.CustomerName)
	d.Subject = bareSubject(d.Kind, d.Number, d.Subject)
	d.ExpectWithin = cleanLine(d.ExpectWithin, maxFieldRunes)
	d.Priority = cleanLine(d.Priority, maxFieldRunes)
	d.Company = cleanLine(d.Company, maxFieldRunes)
	d.FromName = cleanLine(d.FromName, maxFieldRunes)
	if d.Company == "" && d.FromName == "" {
		d.FromName = DefaultFromName // an unsigned acknowledgement beats none
	}
	return d, nil
}

// sampleData are the inputs every template is tried with at load time, so a
// broken override fails at start-up rather than on a customer's message.
func sampleData() []AckData {
	due := time.Date(2025, 3, 4, 15, 30, 0, 0, time.UTC)
	var out []AckData
	for _, kind := range []string{KindCase, KindOrder} {
		num := "C-000123"
		if kind == KindOrder {
			num = "O-000123"
		}
		out = append(out,
			AckData{CustomerName: "Ada Lovelace", Number: num, Kind: kind, Subject: "Printer on fire",
				ExpectBy: due, ExpectWithin: "4 hours", Priority: "high", CardWarning: true,
				Company: "Example Ltd", FromName: "Customer Service"},
			AckData{Number: num, Kind: kind, Company: "Example Ltd"},
		)
	}
	return out
}
