package mailparse_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/emersion/go-message/mail"

	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/message"
)

// discardBlobs hashes attachments and keeps nothing (a real store keeps them).
type discardBlobs struct{}

func (discardBlobs) Put(_ context.Context, r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func ExampleParser_Parse() {
	p := mailparse.New(mailparse.Options{
		Blobs:        discardBlobs{},
		OwnAddresses: []string{"support@frontdesk.example"},
	})
	raw := "From: Anna <anna@example.org>\r\n" +
		"To: support@frontdesk.example\r\n" +
		"Subject: =?utf-8?q?Bestellung_W=C3=A4rmepumpe?=\r\n" +
		"Message-ID: <m1@example.org>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Please charge 4111 1111 1111 1111.\r\n"
	m, err := p.Parse(context.Background(), message.ChannelIMAP, []byte(raw))
	if err != nil {
		fmt.Println("error:", err, message.IsPermanent(err))
		return
	}
	_, automated := m.Automated()
	fmt.Println(m.From.Addr, m.MessageID)
	fmt.Println(m.Subject)
	fmt.Println(m.Text, m.CardsMasked, automated)
	// Output:
	// anna@example.org m1@example.org
	// Bestellung Wärmepumpe
	// Please charge 4111 11XX XXXX 1111. 1 false
}

func ExampleDetect() {
	h := mail.HeaderFromMap(map[string][]string{
		"From":           {"Mail Delivery System <MAILER-DAEMON@mx.example.org>"},
		"Return-Path":    {"<>"},
		"Auto-Submitted": {"auto-replied"},
		"Subject":        {"Undeliverable: your order"},
	})
	for _, s := range mailparse.Detect(h, mailparse.Own{}) {
		fmt.Println(s.Rule, s.Value, s.Weak)
	}
	// Output:
	// auto-submitted auto-replied false
	// null-return-path <> false
	// automated-sender MAILER-DAEMON@mx.example.org false
	// subject undeliverable true
}
