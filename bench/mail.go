package bench

import (
	"fmt"
	"strings"
	"time"
)

// Runs mark their mail so that acknowledgements are matched to it.
const msgIDDomain = "bench.frontdesk.test"

// customerMail is message i of run: a plain or multipart customer message
// of a realistic size (1–4 KB) from its own sender, so that per-address
// loop caps never apply. Its Message-ID is msgID(run, i).
func customerMail(run string, i int, now time.Time) []byte {
	var b strings.Builder
	subject := subjects[i%len(subjects)]
	fmt.Fprintf(&b, "Return-Path: <customer-%d@customers.example.test>\r\n", i)
	fmt.Fprintf(&b, "Received: from mx.customers.example.test (mx.customers.example.test [192.0.2.%d])\r\n\tby mx.desk.example.test with ESMTPS id %s-%d; %s\r\n",
		i%250+1, run, i, now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: Customer %d <customer-%d@customers.example.test>\r\n", i, i)
	fmt.Fprintf(&b, "To: Support <support@desk.example.test>\r\n")
	fmt.Fprintf(&b, "Subject: %s (ref %d)\r\n", subject, i)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgID(run, i))
	b.WriteString("MIME-Version: 1.0\r\n")
	body := fmt.Sprintf(bodies[i%len(bodies)], i)
	if i%3 == 0 { // a third arrive as HTML mail with a text alternative
		boundary := fmt.Sprintf("=_bench_%s_%d", run, i)
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", boundary)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", boundary, body)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body>", boundary)
		for _, para := range strings.Split(body, "\r\n\r\n") {
			fmt.Fprintf(&b, "<p style=\"font-family:Arial\">%s</p>\r\n", strings.ReplaceAll(para, "\r\n", "<br>\r\n"))
		}
		fmt.Fprintf(&b, "</body></html>\r\n--%s--\r\n", boundary)
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(body)
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// msgID is the Message-ID (without brackets) of message i of run.
func msgID(run string, i int) string {
	return fmt.Sprintf("%s.%d@%s", run, i, msgIDDomain)
}

var subjects = []string{
	"Parcel not delivered",
	"Invoice question",
	"Cannot log in to my account",
	"Refund for damaged item",
	"Change of delivery address",
	"Product stopped working",
}

var bodies = []string{
	"Hello,\r\n\r\nmy order %d was due last Tuesday and the tracking page still says it is in the depot. " +
		"Could you tell me when it will arrive? I am away from Friday, so a delivery before then would help.\r\n\r\n" +
		"Kind regards,\r\nA customer\r\n\r\n-- \r\nSent from my phone",
	"Hi,\r\n\r\nthe invoice for account %d lists two charges for the same month. I think one of them is a mistake; " +
		"please check and send me a corrected invoice.\r\n\r\nThanks,\r\nAccounts payable\r\n\r\n" +
		"> On Monday you wrote:\r\n> Your invoice is attached.\r\n> Best regards,\r\n> Billing",
	"Dear support team,\r\n\r\nsince yesterday I cannot log in (customer number %d). The page says my password is wrong " +
		"but I reset it twice. I use the app on Android and the web site on my laptop; both fail.\r\n\r\n" +
		"I need to place an order this week, so this is getting urgent.\r\n\r\nBest,\r\nA long-time customer",
	"Hello,\r\n\r\nthe kettle I bought (order %d) arrived with a cracked lid. I would like a refund or a replacement, " +
		"whichever is quicker. I kept the box and can send photos.\r\n\r\nRegards",
}
