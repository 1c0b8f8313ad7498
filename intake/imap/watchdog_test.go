package imap

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// A server that accepts connections and then stops answering (before the
// greeting, or after it) is cut off by the timeouts and reported.
func TestUnresponsiveServer(t *testing.T) {
	for _, greet := range []bool{false, true} {
		name := map[bool]string{false: "no greeting", true: "no answer"}[greet]
		t.Run(name, func(t *testing.T) {
			addr := hangingServer(t, greet)
			host, port, _ := net.SplitHostPort(addr)
			cfg := testConfig(testenv.IMAPAccount{Host: host, Username: "u", Password: "p"})
			var err error
			if cfg.Port, err = strconv.Atoi(port); err != nil {
				t.Fatal(err)
			}
			cfg.DialTimeout = 50 * time.Millisecond
			cfg.CommandTimeout = 50 * time.Millisecond
			r := start(t, cfg, newRecorder(), newCheckpoints())
			eventually(t, "timeout reported", func() bool {
				st := r.Status()
				return st.Failing && st.LastErrorKind == KindNetwork && st.State == StateBackoff
			})
			if st := r.Status(); st.Sessions != 0 {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// hangingServer accepts connections, optionally greets, then reads and
// never answers until the test ends.
func hangingServer(t *testing.T, greet bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				if greet {
					_, _ = io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 IDLE] hung test server\r\n")
				}
				_, _ = io.Copy(io.Discard, c)
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
