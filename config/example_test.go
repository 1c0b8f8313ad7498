package config_test

import (
	"fmt"

	"github.com/frontdesk/frontdesk/config"
)

func ExampleParse() {
	yml := []byte(`
data_dir: /srv/frontdesk
mailboxes:
  - name: support
    host: imap.example.com
    username: support@example.com
`)
	env := []string{
		"FRONTDESK_MAILBOXES_0_PASSWORD=s3cret",
		"FRONTDESK_LOG_LEVEL=debug",
	}
	c, err := config.Parse(yml, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	mb := c.Mailbox[0]
	fmt.Println(c.Store.DSN, c.Log.Level)
	fmt.Println(mb.Port, mb.TLS, mb.Folder, mb.Queue, mb.Flag)
	// Output:
	// /srv/frontdesk/frontdesk.db debug
	// 993 implicit INBOX support $Frontdesk
}

func ExampleProblems() {
	yml := []byte(`
log: {level: loud}
mailboxes:
  - name: support
    host: imap.example.com
    tls: ssl
`)
	_, err := config.Parse(yml, []string{"FRONTDESK_SMPT_HOST=x"})
	fmt.Println(err)
	// Output:
	// config: 5 problems:
	//   FRONTDESK_SMPT_HOST: unknown variable: names are FRONTDESK_ + a YAML path, e.g. FRONTDESK_MAILBOXES_0_PASSWORD
	//   log.level: must be debug, info, warn or error, got "loud"
	//   mailboxes[0].tls: must be implicit, starttls or none, got "ssl"
	//   mailboxes[0].username: required
	//   mailboxes[0].password: required (or set FRONTDESK_MAILBOXES_0_PASSWORD or ..._PASSWORD_FILE)
}
