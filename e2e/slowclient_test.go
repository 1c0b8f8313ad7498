package e2e

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestSlowClientsCut: the listener drops a client that sends its header
// too slowly (read_header_timeout) or trickles its body (read_timeout),
// instead of holding a connection for it forever, and keeps serving.
func TestSlowClientsCut(t *testing.T) {
	d := newDesk(t, false, "forms:\n  - {name: contact, secret: "+formSecret+", queue: web}\n")
	d.vars = append(d.vars, "FRONTDESK_HTTP_READ_HEADER_TIMEOUT=1s", "FRONTDESK_HTTP_READ_TIMEOUT=2s")
	d.start()
	// Each client waits well past the configured timeout but less than
	// the default one (10 s, 60 s), so the test fails if the setting is
	// not applied.
	for _, tc := range []struct {
		name, start string
		trickle     bool
		wait        time.Duration
	}{
		{"header never finished", "POST /intake/forms/contact HTTP/1.1\r\nHost: desk\r\n", false, 8 * time.Second},
		{"body trickled", "POST /intake/forms/contact HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", true, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", d.httpAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.start); err != nil {
				t.Fatal(err)
			}
			// Keep trickling (a byte every 300 ms would last 5 minutes);
			// the server must end the connection long before that.
			stop := make(chan struct{})
			defer close(stop)
			if tc.trickle {
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(300 * time.Millisecond):
							if _, err := c.Write([]byte(" ")); err != nil {
								return
							}
						}
					}
				}()
			}
			_ = c.SetReadDeadline(time.Now().Add(tc.wait))
			_, err = io.ReadAll(bufio.NewReader(c)) // until the server closes
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server still held the connection after %s", tc.wait)
			}
		})
	}
	// Still serving.
	if code, _ := d.postForm("contact", "msg_slow_1", "application/json",
		`{"email":"slow@example.net","message":"after the slow ones"}`); code != 202 {
		t.Fatalf("after slow clients: %d", code)
	}
}
