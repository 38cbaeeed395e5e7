// Command cloister is a self-hosted, AWS Lambda-compatible serverless
// platform in one binary.
//
//	cloister server [flags]   start everything on this machine
//	cloister account create   create an account on a running server
//	cloister init             (internal) a sandbox's init process
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloister/cloister/internal/sandbox"
)

func main() {
	// A sandbox's init must run before anything else touches the process.
	if sandbox.IsInit() {
		os.Exit(sandbox.InitMain())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "cloister:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: cloister <command> [flags]

commands:
  server    start the Cloister server (control plane, data plane, embedded state)
  account   create an account on a running server (account create --name NAME)

Run 'cloister <command> -h' for the command's flags.
`)
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage()
		return flag.ErrHelp
	}
	switch args[0] {
	case "server":
		cfg, err := parseServerFlags(args[1:])
		if err != nil {
			return err
		}
		return runServer(ctx, cfg)
	case "account":
		return runAccount(ctx, args[1:])
	case "-h", "-help", "--help", "help":
		usage()
		return nil
	}
	usage()
	return fmt.Errorf("unknown command %q", args[0])
}
