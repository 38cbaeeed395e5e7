package async_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
)

// TestRestartWithQueuedAndInFlightEvents stops a server whose dispatcher is
// running events (its store goes away before they can settle) while more
// wait in the queue, opens a new one on the same data, and finds every
// accepted event processed.
func TestRestartWithQueuedAndInFlightEvents(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := asyncConfig()
	cfg.Workers = 4
	s1, err := openStack(h.p, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	crashed := false
	defer func() {
		if !crashed {
			s1.close()
		}
	}()
	if err := s1.services.StartServices(); err != nil {
		t.Fatal(err)
	}
	const name = "restart"
	createFn(t, s1, name, fnSpec{})
	q, err := s1.queues.CreateQueue(ctx, s1.account, name+"-ok", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := functions.Ref{Account: s1.account, Name: name}
	if _, err := s1.fns.PutEventInvoke(ctx, ref, &functions.EventInvokeInput{
		MaximumRetryAttempts: new(0),
		DestinationConfig:    &functions.DestinationConfig{OnSuccess: &functions.Destination{Destination: q.ARN}},
	}); err != nil {
		t.Fatal(err)
	}
	fn, err := s1.fns.Resolve(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(i int, payload string) string {
		id := fmt.Sprintf("restart-%02d", i)
		if err := s1.events.Enqueue(ctx, &api.InvokeRequest{RequestID: id, Function: fn, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Four slow events take the four workers; twenty wait behind them.
	var sleepers, ids []string
	for i := range 4 {
		sleepers = append(sleepers, enqueue(i, `{"op":"sleep","n":2000}`))
	}
	for i := 4; i < 24; i++ {
		ids = append(ids, enqueue(i, `{"op":"echo"}`))
	}
	if err := s1.events.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the slow events to run", func() bool {
		for _, id := range sleepers {
			if _, _, live := s1.runs.get(id); live != 1 {
				return false
			}
		}
		return true
	})
	s1.crash()
	crashed = true

	s2, err := openStack(h.p, dir, asyncConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	if err := s2.services.Start(); err != nil {
		t.Fatal(err)
	}
	want := append(sleepers, ids...)
	var got []string
	for len(got) < len(want) {
		for _, m := range receive(t, s2.queues, q.ARN, 1) {
			r := parseRecord(t, m.Body)
			if !slices.Contains(got, r.RequestContext.RequestID) {
				got = append(got, r.RequestContext.RequestID)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("OnSuccess got %v, want %v", got, want)
	}
	for _, id := range sleepers {
		if runs, _, _ := s2.runs.get(id); runs == 0 {
			t.Errorf("%s, in flight at the crash, did not run again", id)
		}
	}
}
