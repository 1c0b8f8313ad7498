package imap

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// countingProxy sits between the poller and a test server on 127.0.0.1 and
// counts what goes through: the commands the client sends, by name, and the
// bytes the server sends.
type countingProxy struct {
	ln       net.Listener
	upstream string
	fromSrv  atomic.Int64
	mu       sync.Mutex
	commands map[string]int
	conns    []net.Conn
	closed   bool
	wg       sync.WaitGroup
}

// startProxy proxies to acct's server until the end of the test; it returns
// acct pointing at the proxy.
func startProxy(t *testing.T, acct testenv.IMAPAccount) (*countingProxy, testenv.IMAPAccount) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, upstream: net.JoinHostPort(acct.Host, strconv.Itoa(acct.Port)), commands: map[string]int{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	acct.Host = "127.0.0.1"
	acct.Port = ln.Addr().(*net.TCPAddr).Port
	return p, acct
}

func (p *countingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		if p.closed {
			_ = c.Close()
			_ = u.Close()
		}
		p.mu.Unlock()
		p.wg.Go(func() {
			_, _ = io.Copy(c, countingReader{r: u, n: &p.fromSrv})
			_ = c.Close()
		})
		p.wg.Go(func() {
			p.forwardCommands(u, c)
			_ = u.Close()
		})
	}
}

// forwardCommands copies the client's lines upstream, counting the
// command of each tagged line. (The poller sends no literals.)
func (p *countingProxy) forwardCommands(dst io.Writer, src io.Reader) {
	br := bufio.NewReader(src)
	for {
		line, err := br.ReadBytes('\n')
		if f := bytes.Fields(line); len(f) >= 2 {
			cmd := string(bytes.ToUpper(f[1]))
			if cmd == "UID" && len(f) >= 3 {
				cmd += " " + string(bytes.ToUpper(f[2]))
			}
			p.mu.Lock()
			p.commands[cmd]++
			p.mu.Unlock()
		}
		if _, werr := dst.Write(line); werr != nil || err != nil {
			return
		}
	}
}

// count returns how many cmd commands ("STATUS", "UID FETCH") went through.
func (p *countingProxy) count(cmd string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.commands[cmd]
}

func (p *countingProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
