package invoke_test

// Benchmarks of the data plane, each beside the floor it is judged against,
// measured in the same run:
//
//   - warm invoke (SigV4-signed Invoke through the API to a warm environment
//     and back) vs. a bare loopback HTTP round trip with the same client;
//   - cold start (first Invoke of a new function: sandbox, runtime start-up,
//     the invocation) vs. the same bootstrap started as a plain process
//     against a minimal in-process Runtime API.
//
// They report p50 and p99 (ns) as custom metrics. Run with:
//
//	go test ./internal/invoke -run '^$' -bench . -benchtime 2000x

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// percentiles reports p50 and p99 of ds as benchmark metrics.
func percentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds()), "p99-ns")
}

// signedClient sends SigV4-signed requests the way a lean SDK client does:
// one keep-alive connection, the v4 signer, a precomputed payload hash.
type signedClient struct {
	http   *http.Client
	signer *v4.Signer
	creds  aws.Credentials
}

func newSignedClient(h *harness) *signedClient {
	return &signedClient{
		http:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		signer: v4.NewSigner(),
		creds:  aws.Credentials{AccessKeyID: h.key.AccessKeyID, SecretAccessKey: h.key.Secret.Reveal()},
	}
}

func (c *signedClient) do(url string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(context.Background(), c.creds, req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, out)
	}
	return out, err
}

func BenchmarkWarmInvoke(b *testing.B) {
	h := getB(b)
	name := fmt.Sprintf("bench-warm-%d", time.Now().UnixNano())
	// 1769 MB buys one full vCPU, so the function's CPU quota does not
	// throttle the measurement.
	h.create(b, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, memory: 1769})
	defer h.client.DeleteFunction(context.Background(), delInput(name))
	c := newSignedClient(h)
	url := h.srv.URL + "/2015-03-31/functions/" + name + "/invocations"
	body := []byte(`{"op":"echo","arg":"x"}`)
	for i := 0; i < 50; i++ { // warm up: the environment and connections
		if _, err := c.do(url, body); err != nil {
			b.Fatal(err)
		}
	}
	measureRequests(b, c, url, body)
}

// measureRequests sends b.N requests one after another and reports their
// latency percentiles and the CPU time per request of this process (server
// and client) and of the functions' processes.
func measureRequests(b *testing.B, c *signedClient, url string, body []byte) {
	ds := make([]time.Duration, 0, b.N)
	h0, f0 := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := time.Now()
		if _, err := c.do(url, body); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(s))
	}
	b.StopTimer()
	reportCPU(b, h0, f0)
	percentiles(b, ds)
}

// reportCPU reports the CPU time per operation used since cpuNow returned
// host and fn.
func reportCPU(b *testing.B, host, fn time.Duration) {
	h1, f1 := cpuNow()
	b.ReportMetric(float64((h1-host).Nanoseconds())/float64(b.N), "host-cpu-ns")
	b.ReportMetric(float64((f1-fn).Nanoseconds())/float64(b.N), "fn-cpu-ns")
}

// BenchmarkLoopbackFloor is a bare loopback HTTP round trip with the same
// client and signing: the floor for warm invokes.
func BenchmarkLoopbackFloor(b *testing.B) {
	h := getB(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"op":"echo","arg":"x"}`))
	}))
	defer srv.Close()
	c := newSignedClient(h)
	body := []byte(`{"op":"echo","arg":"x"}`)
	for i := 0; i < 50; i++ {
		if _, err := c.do(srv.URL+"/", body); err != nil {
			b.Fatal(err)
		}
	}
	measureRequests(b, c, srv.URL+"/", body)
}

func BenchmarkColdStart(b *testing.B) {
	h := getB(b)
	c := newSignedClient(h)
	body := []byte(`{"op":"echo","arg":"x"}`)
	ds := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("bench-cold-%d-%d", time.Now().UnixNano(), i)
		h.create(b, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, memory: 1769})
		time.Sleep(20 * time.Millisecond) // let the sandbox pool refill
		b.StartTimer()
		s := time.Now()
		if _, err := c.do(h.srv.URL+"/2015-03-31/functions/"+name+"/invocations", body); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(s))
		b.StopTimer()
		_, _ = h.client.DeleteFunction(context.Background(), delInput(name))
		b.StartTimer()
	}
	b.StopTimer()
	percentiles(b, ds)
}

// BenchmarkBareProcessFloor starts the same bootstrap as a plain process
// against a minimal Runtime API and measures until its first response: the
// floor for cold starts.
func BenchmarkBareProcessFloor(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("compared with sandboxes, which need root")
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := extractBootstrap(probeZip, bin); err != nil {
		b.Fatal(err)
	}
	ds := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		done := make(chan struct{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: minimalRuntimeAPI(done)}
		go srv.Serve(ln)
		cmd := exec.Command(bin)
		cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "_HANDLER=bootstrap"}
		s := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		<-done
		ds = append(ds, time.Since(s))
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		srv.Close()
		b.StartTimer()
	}
	b.StopTimer()
	percentiles(b, ds)
}

// minimalRuntimeAPI serves one invocation and closes done at its response.
func minimalRuntimeAPI(done chan struct{}) http.Handler {
	served := false
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/invocation/next"):
			if served {
				<-r.Context().Done()
				return
			}
			served = true
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bare")
			_, _ = w.Write([]byte(`{"op":"echo","arg":"x"}`))
		case r.Method == http.MethodPost:
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
			close(done)
		}
	})
}

// BenchmarkWarmBareProcess measures the bootstrap alone: the same function
// as a plain process (no sandbox, no API, no signing) served by a minimal
// in-process Runtime API, from handing it an event to receiving its
// response. It shows how much of a warm invoke is the function's own
// runtime.
func BenchmarkWarmBareProcess(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("compared with sandboxes, which need root")
	}
	bin := filepath.Join(b.TempDir(), "bootstrap")
	if err := extractBootstrap(probeZip, bin); err != nil {
		b.Fatal(err)
	}
	events := make(chan string)
	responses := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/invocation/next"):
			id, ok := <-events
			if !ok {
				return
			}
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bare")
			_, _ = w.Write([]byte(`{"op":"echo","arg":"x"}`))
		case r.Method == http.MethodPost:
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
			responses <- struct{}{}
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "_HANDLER=bootstrap"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	one := func(i int) time.Duration {
		s := time.Now()
		events <- fmt.Sprintf("req-%d", i)
		<-responses
		return time.Since(s)
	}
	for i := 0; i < 50; i++ {
		one(i)
	}
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds = append(ds, one(i))
	}
	b.StopTimer()
	close(events)
	percentiles(b, ds)
}

// cpuNow returns the CPU time this process (the server and the benchmark's
// client) and every process named "bootstrap" (the functions) have used.
// Environments left idle by earlier benchmarks count too; they use next to
// nothing while idle.
// Divided by the invocations between two readings it says where an
// invocation's CPU goes, which on a virtual machine is the first thing to
// look at: wall time hides a CPU that is busy elsewhere.
func cpuNow() (host, fn time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	host = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "bootstrap" {
			continue
		}
		fn += procCPU("/proc/" + e.Name())
	}
	return host, fn
}

// procCPU sums the run time of every thread of the process in dir
// (/proc/PID) from their schedstat files: nanoseconds, where /proc/PID/stat
// counts whole clock ticks that land on whoever is running when they fire.
func procCPU(dir string) time.Duration {
	tasks, _ := os.ReadDir(dir + "/task")
	var sum time.Duration
	for _, t := range tasks {
		st, err := os.ReadFile(dir + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st))
		if len(f) == 0 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		sum += time.Duration(ns)
	}
	return sum
}
