package async_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
)

// BenchmarkEnqueue measures the durable enqueue rate: events accepted per
// second by concurrent Enqueue calls, each returning after the store's
// fsync. It uses a store of its own without a dispatcher, so that nothing
// runs the events meanwhile.
//
//	go test -run '^$' -bench Enqueue -benchtime 5000x ./internal/async
func BenchmarkEnqueue(b *testing.B) {
	h := get(b)
	s, err := openStack(h.p, b.TempDir(), asyncConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	fn := &functions.Function{Incarnation: "bench", Config: functions.Configuration{
		FunctionName: "bench", FunctionArn: "arn:aws:lambda:us-east-1:" + s.account + ":function:bench", Version: functions.LatestVersion,
	}}
	payload := []byte(`{"op":"echo","arg":"benchmark"}`)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", n.Add(1))
			if err := s.events.Enqueue(ctx, &api.InvokeRequest{RequestID: id, Function: fn, Payload: payload}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkEventLatency measures an event's way end to end: from the Invoke
// request (Event, through the API) to its invocation record arriving on the
// OnSuccess queue, one event at a time, with a warm environment.
//
//	go test -run '^$' -bench EventLatency -benchtime 200x ./internal/async
func BenchmarkEventLatency(b *testing.B) {
	h := get(b)
	name := uniqueName(b)
	h.create(b, name, fnSpec{})
	q := h.queue(b, name+"-ok")
	h.eventConfig(b, name, 0, 0, q, "")
	payload := map[string]string{"op": "echo", "arg": "latency"}
	h.event(b, name, payload) // a cold start, not measured
	receive(b, h.queues, q, 1)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		h.event(b, name, payload)
		receive(b, h.queues, q, 1)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
