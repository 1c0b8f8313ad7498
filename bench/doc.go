// Package bench is Frontdesk's load harness: it runs the real daemon (the
// frontdesk binary, as a child process) against real peers on this machine
// — a redis-server, go-imap's in-process IMAP server or Dovecot, and an
// in-process SMTP server that timestamps every acknowledgement — offers a
// fixed, open-loop load of customer mail over IMAP or of signed web-form
// submissions posted to the daemon's HTTP listener, and reports
// arrival-to-acknowledgement latency, sustained throughput, the daemon's
// peak RSS, the HTTP answers and their latency, the CPU each party used,
// and the counts that must match (accepted, registered, acknowledged;
// duplicates and losses must be 0). In the same run it measures the
// machine's ceiling, asynq's no-op task throughput against the same Redis,
// and reports our throughput as a ratio of it: absolute figures drift on
// shared machines, the ratio and the percentiles at a fixed offered load
// are what we track.
//
// cmd/frontdesk-bench is its command line; `make bench` runs it.
package bench
