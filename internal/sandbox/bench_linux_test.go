package sandbox_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/sandbox"
)

// The cold-start benchmarks time what Lambda's cold start is made of: from
// asking for an environment to the function's first connection to the
// runtime API. The function is the probe's "ping": connect to 127.0.0.1:9001
// and write a byte. BenchmarkBareProcess runs the same binary as a plain
// child process against a host listener, the baseline the sandbox must stay
// within 2x of. Each reports p50/p90/p99 in microseconds.
//
// Sandboxes are measured at 128 MB (0.07 vCPU of quota and share, as in
// Lambda) and at 1769 MB (one vCPU, what the bare process gets).

func BenchmarkColdStart(b *testing.B) {
	for _, v := range []string{"pool", "nopool"} {
		for _, mb := range []int{128, 1769} {
			b.Run(fmt.Sprintf("%s/%dMB", v, mb), func(b *testing.B) {
				benchColdStart(b, manager(b, v), v == "pool", mb)
			})
		}
	}
}

func benchColdStart(b *testing.B, m *sandbox.Manager, pool bool, mb int) {
	ctx := context.Background()
	var samples []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if pool {
			if err := sandbox.WaitPoolFull(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		spec := probeSpec("ping", "127.0.0.1:9001")
		spec.Listen = []string{"127.0.0.1:9001"}
		spec.MemoryMB = mb
		b.StartTimer()
		t0 := time.Now()
		s, err := m.Start(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		firstByte(b, s.Listeners()[0])
		samples = append(samples, time.Since(t0))
		b.StopTimer()
		s.Close()
		settle()
		b.StartTimer()
	}
	reportPercentiles(b, samples)
}

func BenchmarkBareProcess(b *testing.B) {
	requireRoot(b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	probe := filepath.Join(probeDir, "probe")
	var samples []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		cmd := exec.Command(probe, "ping", l.Addr().String())
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		firstByte(b, l)
		samples = append(samples, time.Since(t0))
		b.StopTimer()
		cmd.Wait()
		settle()
		b.StartTimer()
	}
	reportPercentiles(b, samples)
}

// settle lets the kernel finish tearing down what the previous iteration
// left (network, pid and user namespaces are released asynchronously), so
// that each iteration measures a cold start, not the churn of the last one.
func settle() { time.Sleep(20 * time.Millisecond) }

// firstByte accepts one connection on l and reads its first byte.
func firstByte(b *testing.B, l net.Listener) {
	c, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var buf [1]byte
	if _, err := c.Read(buf[:]); err != nil {
		b.Fatal(err)
	}
}

func reportPercentiles(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	pct := func(p float64) float64 {
		i := int(p * float64(len(samples)-1))
		return float64(samples[i].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.90), "p90-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
