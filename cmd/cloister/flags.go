package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"
)

// serverConfig is everything `cloister server` is told on its command line.
type serverConfig struct {
	DataDir             string
	Listen              string
	Region              string
	NATSURL             string
	NATSListen          string
	NATSCreds           string
	NATSReplicas        int
	LogLevel            slog.Level
	ConcurrencyLimit    int
	ShutdownTimeout     time.Duration
	IdleTimeout         time.Duration
	MaxLifetime         time.Duration
	SandboxPool         int
	LogBytesPerFunction int
	DebugListen         string
}

var regionRe = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d$`)

func parseServerFlags(args []string) (serverConfig, error) {
	var c serverConfig
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory for state, credentials and caches")
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:4590", "address for the AWS-compatible API")
	fs.StringVar(&c.Region, "region", "us-east-1", "AWS region this server presents itself as")
	fs.StringVar(&c.NATSURL, "nats-url", "", "external NATS JetStream cluster URL (default: run NATS embedded)")
	fs.StringVar(&c.NATSListen, "nats-listen", "", "let the embedded NATS server accept clients on this address (default: no port)")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "credentials file for the external NATS cluster")
	fs.IntVar(&c.NATSReplicas, "nats-replicas", 1, "replicas for buckets and streams on an external cluster")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	fs.IntVar(&c.ConcurrencyLimit, "account-concurrency", 1000, "concurrent executions allowed per account")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to drain in-flight requests on shutdown")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 10*time.Minute, "reap execution environments idle this long")
	fs.DurationVar(&c.MaxLifetime, "max-lifetime", 4*time.Hour, "retire execution environments this old (between invocations)")
	fs.IntVar(&c.SandboxPool, "sandbox-pool", 2, "pre-forked sandboxes kept ready for cold starts (0 disables)")
	fs.IntVar(&c.LogBytesPerFunction, "log-buffer", 4<<20, "bytes of recent log kept per function")
	fs.StringVar(&c.DebugListen, "debug-listen", "", "serve Go's pprof profiles on this (loopback) address; empty disables")
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("server: unexpected arguments %q", fs.Args())
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("server: -log-level: %w", err)
	}
	if !regionRe.MatchString(c.Region) {
		return c, fmt.Errorf("server: -region %q is not a region name like us-east-1", c.Region)
	}
	if c.ConcurrencyLimit < 100 {
		return c, fmt.Errorf("server: -account-concurrency must be at least 100 (Lambda keeps 100 unreserved)")
	}
	return c, nil
}
