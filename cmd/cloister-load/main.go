// Command cloister-load sends signed Invoke requests to a Cloister server
// from concurrent workers and prints throughput and latency percentiles.
//
//	cloister-load -endpoint http://127.0.0.1:4590 -function hello -c 8 -d 30s
//
// Credentials and region come from the usual AWS environment variables or
// shared files (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, AWS_REGION).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cloister/cloister/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cloister-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var c loadgen.Config
	flag.StringVar(&c.Endpoint, "endpoint", "http://127.0.0.1:4590", "Cloister endpoint")
	flag.StringVar(&c.Function, "function", "", "function name or ARN (with :qualifier)")
	payload := flag.String("payload", "{}", "JSON payload")
	flag.StringVar(&c.InvocationType, "type", "RequestResponse", "invocation type: RequestResponse or Event")
	flag.IntVar(&c.Concurrency, "c", 1, "concurrent workers")
	flag.DurationVar(&c.Duration, "d", 10*time.Second, "duration")
	flag.IntVar(&c.Requests, "n", 0, "stop after this many requests (0: run for the duration)")
	flag.IntVar(&c.Warmup, "warmup", 20, "uncounted warm-up requests per worker")
	flag.Parse()
	if c.Function == "" {
		return fmt.Errorf("-function is required")
	}
	c.Payload = []byte(*payload)
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	if c.Credentials, err = awsCfg.Credentials.Retrieve(ctx); err != nil {
		return err
	}
	c.Region = awsCfg.Region
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	r, err := loadgen.Run(ctx, c)
	if err != nil {
		return err
	}
	fmt.Print(r.String())
	return nil
}
