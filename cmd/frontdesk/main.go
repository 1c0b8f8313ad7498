// Command frontdesk is the Frontdesk intake daemon: `serve` runs everything,
// `check-config` validates a configuration and lists every problem,
// `version` prints the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontdesk/frontdesk/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: frontdesk <command> [flags]

commands:
  serve          run the daemon (IMAP intake, pipeline workers, CSR API)
  check-config   validate a configuration and list every problem
  version        print the version

flags (serve, check-config):
  -config FILE   YAML configuration (default: embedded defaults only)
  check-config -example   print the commented example configuration
  check-config -env       list every FRONTDESK_* environment variable

Environment variables FRONTDESK_<YAML_PATH> override the file; see README.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file")
	example := fs.Bool("example", false, "print the example configuration (check-config)")
	envVars := fs.Bool("env", false, "list every FRONTDESK_* environment variable (check-config)")
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "frontdesk", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve", "check-config":
	default:
		fmt.Fprintf(stderr, "frontdesk: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cmd == "check-config" && *example {
		_, _ = stdout.Write(config.Example())
		return 0
	}
	if cmd == "check-config" && *envVars {
		for _, v := range config.EnvVars() {
			fmt.Fprintln(stdout, v)
		}
		return 0
	}
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "frontdesk: invalid configuration:\n%v\n", err)
		return 2
	}
	if cmd == "check-config" {
		fmt.Fprintf(stdout, "configuration ok: %d mailbox(es), store %s, redis %s\n",
			len(cfg.Mailbox), cfg.Store.Driver, redisDesc(cfg))
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "frontdesk: %v\n", err)
		return 1
	}
	return 0
}

func redisDesc(cfg *config.Config) string {
	if cfg.Redis.Addr == "" {
		return "managed (" + cfg.Redis.Binary + ")"
	}
	return cfg.Redis.Addr
}
