package templates_test

import (
	"fmt"
	"time"

	"github.com/frontdesk/frontdesk/templates"
)

func ExampleParseTag() {
	kind, number, ok := templates.ParseTag("RE: Fwd: [case c-000123] my printer")
	fmt.Println(kind, number, ok)
	_, _, ok = templates.ParseTag("Re: [Case O-000123]") // the letter does not match the kind
	fmt.Println(ok)
	// Output:
	// case C-000123 true
	// false
}

func ExampleSubjectLine() {
	fmt.Println(templates.SubjectLine(templates.KindCase, "C-000123", "Printer broken"))
	fmt.Println(templates.SubjectLine(templates.KindCase, "C-000123", "RE: [Case C-000123] Re: Printer broken"))
	fmt.Println(templates.SubjectLine(templates.KindOrder, "O-000042", ""))
	// Output:
	// [Case C-000123] Re: Printer broken
	// [Case C-000123] Re: Printer broken
	// [Order O-000042] We have received your message
}

func ExampleSet_RenderAck() {
	set, err := templates.Load("") // embedded defaults only
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := set.RenderAck(templates.AckData{
		CustomerName: "Ada Lovelace",
		Number:       "C-000123",
		Kind:         templates.KindCase,
		Subject:      "Printer on fire",
		ExpectWithin: templates.HumanDuration(4 * time.Hour),
		Company:      "Example Ltd",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Subject)
	// Output:
	// [Case C-000123] Re: Printer on fire
}
