package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// usage is a snapshot of the CPU time used so far by the daemon, by this
// process (the harness, with its in-process IMAP and SMTP peers and load
// generator) and by the whole machine (everyone: the daemon, the harness,
// redis-server and whoever else shares it).
type usage struct {
	at              time.Time
	daemon, harness time.Duration
	machine         time.Duration // busy time summed over every core
	load1           float64       // 1-minute load average
}

// takeUsage snapshots the CPU time of d, of this process and of the
// machine (Linux /proc).
func takeUsage(d *testenv.Daemon) (usage, error) {
	u := usage{at: time.Now()}
	var err error
	if u.daemon, err = d.CPUTime(); err != nil {
		return u, fmt.Errorf("daemon CPU: %w", err)
	}
	if u.harness, err = testenv.ProcessCPUTime(os.Getpid()); err != nil {
		return u, fmt.Errorf("harness CPU: %w", err)
	}
	if u.machine, err = machineBusy(); err != nil {
		return u, fmt.Errorf("machine CPU: %w", err)
	}
	if u.load1, err = loadAvg(); err != nil {
		return u, err
	}
	return u, nil
}

// CPU is how many cores each party kept busy, on average, over a window.
type CPU struct {
	Daemon  float64 `json:"daemon"`
	Harness float64 `json:"harness"`
	// Machine is every process on the machine, the two above included.
	Machine float64 `json:"machine"`
	// LoadBefore is the 1-minute load average as the measured load began:
	// how busy the (shared) machine already was.
	LoadBefore float64 `json:"load_before"`
}

// cpuBetween is the cores used between two snapshots.
func cpuBetween(a, b usage) CPU {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return CPU{LoadBefore: a.load1}
	}
	cores := func(x, y time.Duration) float64 { return (y - x).Seconds() / wall }
	return CPU{Daemon: cores(a.daemon, b.daemon), Harness: cores(a.harness, b.harness),
		Machine: cores(a.machine, b.machine), LoadBefore: a.load1}
}

// machineBusy is the machine's busy CPU time so far, all cores: the
// first line of /proc/stat less idle and iowait.
func machineBusy() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, fmt.Errorf("/proc/stat: empty: %v", sc.Err())
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", sc.Text())
	}
	var busy int64
	for k, s := range fields[1:] {
		if k >= 8 { // guest times are already in user and nice
			break
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if k != 3 && k != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond, nil // USER_HZ 100
}

// loadAvg is the machine's 1-minute load average.
func loadAvg() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/loadavg: %w", err)
	}
	return v, nil
}
