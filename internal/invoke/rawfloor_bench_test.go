package invoke_test

// Floors for the runtime's own share of a warm invoke: the same aws-lambda-go
// bootstrap answered by a raw, single-goroutine Runtime API peer (no
// net/http, no goroutine hand-offs on the host's side), as a plain process
// and inside a full sandbox. What a warm Invoke costs above these is
// Cloister's (the API, authorization, the data plane); what these cost above
// the loopback floor is the runtime's and the machine's (cross-vCPU wake-ups).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/sandbox"
)

// rawConn is a minimal, single-goroutine Runtime API peer.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	wb []byte
}

type rawReq struct {
	method, path string
	body         []byte
}

func (r *rawConn) readRequest() (rawReq, error) {
	var q rawReq
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		return q, err
	}
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return q, fmt.Errorf("bad request line %q", line)
	}
	q.method, q.path = f[0], f[1]
	cl, chunked := -1, false
	for {
		l, err := r.br.ReadSlice('\n')
		if err != nil {
			return q, err
		}
		if len(l) <= 2 {
			break
		}
		k, v, _ := bytes.Cut(l, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			cl, _ = strconv.Atoi(string(v))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		}
	}
	switch {
	case chunked:
		for {
			l, err := r.br.ReadSlice('\n')
			if err != nil {
				return q, err
			}
			n, err := strconv.ParseInt(strings.TrimSpace(string(l)), 16, 64)
			if err != nil {
				return q, err
			}
			if n == 0 {
				for { // trailers
					l, err := r.br.ReadSlice('\n')
					if err != nil {
						return q, err
					}
					if len(l) <= 2 {
						break
					}
				}
				break
			}
			start := len(q.body)
			q.body = append(q.body, make([]byte, n)...)
			if _, err := io.ReadFull(r.br, q.body[start:]); err != nil {
				return q, err
			}
			if _, err := r.br.Discard(2); err != nil {
				return q, err
			}
		}
	case cl > 0:
		q.body = make([]byte, cl)
		if _, err := io.ReadFull(r.br, q.body); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (r *rawConn) writeNext(id string, payload []byte) error {
	b := r.wb[:0]
	b = append(b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: "...)
	b = append(b, id...)
	b = append(b, "\r\nLambda-Runtime-Deadline-Ms: "...)
	b = strconv.AppendInt(b, time.Now().Add(time.Minute).UnixMilli(), 10)
	b = append(b, "\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bare\r\nLambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, payload...)
	r.wb = b
	_, err := r.c.Write(b)
	return err
}

func (r *rawConn) write202() error {
	_, err := r.c.Write([]byte("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}"))
	return err
}

// rawLoop runs b.N invocations through a raw connection on ln.
func rawLoop(b *testing.B, ln net.Listener) {
	c, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := &rawConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	payload := []byte(`{"op":"echo","arg":"x"}`)
	one := func(i int) (time.Duration, error) {
		s := time.Now()
		q, err := r.readRequest()
		if err != nil {
			return 0, err
		}
		if q.method != "GET" {
			return 0, fmt.Errorf("want GET /next, got %s %s", q.method, q.path)
		}
		if err := r.writeNext("req-"+strconv.Itoa(i), payload); err != nil {
			return 0, err
		}
		q, err = r.readRequest()
		if err != nil {
			return 0, err
		}
		d := time.Since(s)
		if q.method != "POST" || !strings.HasSuffix(q.path, "/response") {
			return 0, fmt.Errorf("want POST response, got %s %s %s", q.method, q.path, q.body)
		}
		return d, r.write202()
	}
	for i := 0; i < 50; i++ {
		if _, err := one(i); err != nil {
			b.Fatal(err)
		}
	}
	ds := make([]time.Duration, 0, b.N)
	h0, f0 := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := one(i)
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, d)
	}
	b.StopTimer()
	reportCPU(b, h0, f0)
	percentiles(b, ds)
}

// BenchmarkRawRuntimeBare: the bootstrap as a plain process.
func BenchmarkRawRuntimeBare(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (the harness builds the bootstrap as root)")
	}
	getB(b)
	bin := filepath.Join(b.TempDir(), "bootstrap")
	if err := extractBootstrap(probeZip, bin); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "_HANDLER=bootstrap"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	rawLoop(b, ln)
}

// BenchmarkRawRuntimeSandbox: the bootstrap in a full sandbox sized like a
// 1769 MB function (one whole vCPU).
func BenchmarkRawRuntimeSandbox(b *testing.B) {
	h := getB(b)
	task := b.TempDir()
	if err := os.Chmod(task, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := extractBootstrap(probeZip, filepath.Join(task, "bootstrap")); err != nil {
		b.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	sb, err := h.sandboxes.Start(context.Background(), sandbox.Spec{
		ID: fmt.Sprintf("rawfloor-%d", time.Now().UnixNano()), Args: []string{"/var/task/bootstrap"},
		Env:     []string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", "_HANDLER=bootstrap"},
		TaskDir: task, RuntimeDir: h.stack.DataPlaneConfig().RuntimeDir, MemoryMB: 1769, TmpMB: 512,
		Listen: []string{"127.0.0.1:9001"}, Stdout: pw, Stderr: pw,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	pw.Close()
	rawLoop(b, sb.Listeners()[0])
}
