// Package loadgen drives a running Cloister (or any Lambda-compatible
// endpoint) with signed Invoke requests from concurrent workers and reports
// throughput and latency percentiles. It is the engine of cmd/cloister-load.
//
// It signs requests itself with the SDK's SigV4 signer over keep-alive
// connections, so the client adds as little as possible to what it
// measures. It never logs credentials or payloads.
package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Config describes one load run.
type Config struct {
	Endpoint    string // e.g. http://127.0.0.1:4590
	Region      string
	Credentials aws.Credentials
	Function    string // name or ARN, optionally with :qualifier
	Payload     []byte
	// InvocationType is RequestResponse (default) or Event.
	InvocationType string
	Concurrency    int
	// Duration bounds the run; Requests, when positive, stops it earlier.
	Duration time.Duration
	Requests int
	// Warmup requests per worker are sent first and not counted.
	Warmup int
}

// Report is what a run measured.
type Report struct {
	Requests   int
	Errors     map[string]int // by HTTP status / error type
	Elapsed    time.Duration
	Throughput float64 // successful requests per second
	Latency    Percentiles
}

// Percentiles of request latency.
type Percentiles struct {
	P50, P90, P99, P999, Max time.Duration
}

// String renders a report for humans.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests %d in %v: %.0f/s\n", r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput)
	fmt.Fprintf(&b, "latency p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "errors %s: %d\n", k, r.Errors[k])
		}
	}
	return b.String()
}

// Run sends load until ctx ends, the duration passes or the request budget
// is spent.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		return Report{}, errors.New("loadgen: set a duration or a request count")
	}
	if cfg.InvocationType == "" {
		cfg.InvocationType = "RequestResponse"
	}
	target := strings.TrimRight(cfg.Endpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(cfg.Function) + "/invocations"
	sum := sha256.Sum256(cfg.Payload)
	w := &worker{
		cfg: cfg, url: target, hash: hex.EncodeToString(sum[:]), signer: v4.NewSigner(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency * 2, DisableCompression: true}},
	}
	for i := 0; i < cfg.Warmup*cfg.Concurrency; i++ {
		if _, err := w.once(ctx); err != nil {
			return Report{}, fmt.Errorf("loadgen: warm-up: %w", err)
		}
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   = map[string]int{}
		budget = cfg.Requests
		wg     sync.WaitGroup
		take   = func() bool {
			mu.Lock()
			defer mu.Unlock()
			if cfg.Requests <= 0 {
				return true
			}
			budget--
			return budget >= 0
		}
		started = time.Now()
	)
	for i := 0; i < cfg.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil && take() {
				s := time.Now()
				kind, err := w.once(ctx)
				d := time.Since(s)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					mu.Lock()
					errs[kind]++
					mu.Unlock()
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Report{Requests: len(lat), Errors: errs, Elapsed: elapsed}
	if elapsed > 0 {
		r.Throughput = float64(len(lat)) / elapsed.Seconds()
	}
	if n := len(lat); n > 0 {
		at := func(q float64) time.Duration { return lat[min(n-1, int(q*float64(n)))] }
		r.Latency = Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: lat[n-1]}
	}
	return r, nil
}

type worker struct {
	cfg    Config
	url    string
	hash   string
	signer *v4.Signer
	client *http.Client
}

// once sends one request; on failure kind names what went wrong.
func (w *worker) once(ctx context.Context) (kind string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(w.cfg.Payload))
	if err != nil {
		return "request", err
	}
	req.Header.Set("X-Amz-Invocation-Type", w.cfg.InvocationType)
	if err := w.signer.SignHTTP(ctx, w.cfg.Credentials, req, w.hash, "lambda", w.cfg.Region, time.Now()); err != nil {
		return "sign", err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return "transport", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t := resp.Header.Get("X-Amzn-ErrorType")
		return fmt.Sprintf("%d %s", resp.StatusCode, t), fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return "function error", fmt.Errorf("function error: %s", body)
	}
	return "", nil
}
