package mailer_test

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/mailer"
	"github.com/frontdesk/frontdesk/message"
)

func ExampleBuild() {
	m, err := mailer.Build(mailer.Outgoing{
		MessageID:  "fd.ack.42.abcdefghijkl.abcdefghijklmnop@desk.example.com",
		From:       "Example Support <support@example.com>",
		To:         message.Address{Name: "Eve\r\nBcc: victim@example.net", Addr: "eve@example.org"},
		Subject:    "[Case C-000123] Re: Hello\r\nBcc: victim@example.net",
		Text:       "We have your message.\n",
		InReplyTo:  "abc@mail.example.org",
		References: []string{"root@example.org", "abc@mail.example.org"},
		LoopID:     "fd-abcdefghijkl@desk.example.com",
		Date:       time.Date(2025, 3, 4, 15, 30, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		fmt.Println(err)
		return
	}
	head, _, _ := strings.Cut(b.String(), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if !strings.HasPrefix(line, "Content-") {
			fmt.Println(line)
		}
	}
	// Output:
	// Auto-Submitted: auto-replied
	// Date: Tue, 04 Mar 2025 15:30:00 +0000
	// In-Reply-To: <abc@mail.example.org>
	// MIME-Version: 1.0
	// Message-ID: <fd.ack.42.abcdefghijkl.abcdefghijklmnop@desk.example.com>
	// Precedence: auto_reply
	// References: <root@example.org> <abc@mail.example.org>
	// Subject: [Case C-000123] Re: Hello Bcc: victim@example.net
	// X-Auto-Response-Suppress: All
	// X-Loop: fd-abcdefghijkl@desk.example.com
	// From: "Example Support" <support@example.com>
	// To: "Eve Bcc: victim@example.net" <eve@example.org>
}
