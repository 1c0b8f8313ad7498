package mailer

import (
	"errors"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// Authentication mechanisms SMTPConfig.AuthMechanism may name.
const (
	AuthAuto  = ""      // PLAIN when the server offers it, else LOGIN
	AuthPlain = "plain" // RFC 4616
	AuthLogin = "login" // the de-facto LOGIN mechanism
)

// pickAuth is an smtp.Auth that chooses PLAIN or LOGIN from what the server
// advertises. Both refuse to send a password over an unencrypted connection
// to anything but localhost. One instance serves one connection.
type pickAuth struct {
	user, pass, host, mech string
	cur                    smtp.Auth
}

func (a *pickAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	mech := a.mech
	if mech == AuthAuto {
		offers := func(m string) bool {
			return slices.ContainsFunc(si.Auth, func(s string) bool { return strings.EqualFold(s, m) })
		}
		switch {
		case offers("PLAIN"):
			mech = AuthPlain
		case offers("LOGIN"):
			mech = AuthLogin
		default:
			return "", nil, errors.New("server offers neither AUTH PLAIN nor LOGIN")
		}
	}
	if mech == AuthLogin {
		a.cur = smtp.LoginAuth(a.user, a.pass, a.host, false)
	} else {
		a.cur = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	}
	return a.cur.Start(si)
}

func (a *pickAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if a.cur == nil {
		return nil, errors.New("authentication not started")
	}
	return a.cur.Next(fromServer, more)
}
