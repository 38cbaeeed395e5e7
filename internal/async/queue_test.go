package async

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

// noDataPlane is a data plane for tests that never start the dispatcher.
type noDataPlane struct{}

func (noDataPlane) Invoke(context.Context, *api.InvokeRequest) (*api.InvokeResult, error) {
	return nil, errors.New("no data plane in this test")
}

// denyAll is role authorization for tests that deliver nothing.
func denyAll(context.Context, string, string, string, string, string, func(context.Context) (*policy.Policy, error)) error {
	return awserr.New(awserr.AccessDenied, "no deliveries in this test")
}

// externalStore starts a JetStream server with NATS's default limits (a
// 1 MiB maximum payload), reached over TCP, and opens a store on it.
func externalStore(t *testing.T) *store.Store {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10e9) {
		t.Fatal("nats server not ready")
	}
	st, err := store.Open(t.Context(), store.Config{URL: ns.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestEnqueueKeepsMessagesSmall enqueues events up to Lambda's 1 MB limit
// on a cluster with the default 1 MiB message limit: every one is stored,
// large payloads aside, and reads back byte for byte.
func TestEnqueueKeepsMessagesSmall(t *testing.T) {
	st := externalStore(t)
	ctx := t.Context()
	catalog, err := runtimes.Discover()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := functions.Open(ctx, st, functions.Config{Region: "us-east-1", Runtimes: catalog})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, st, Config{Region: "us-east-1", Functions: fns, DataPlane: noDataPlane{}, AuthorizeRole: denyAll})
	if err != nil {
		t.Fatal(err)
	}
	fn := &functions.Function{Incarnation: "i1", Config: functions.Configuration{
		FunctionName: "f", FunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:f", Version: functions.LatestVersion,
	}}
	for _, tc := range []struct {
		name    string
		size    int
		spilled bool
	}{
		{"empty", 0, false},
		{"small", 100, false},
		{"largest inline", maxInline, false},
		{"spilled", maxInline + 1, true},
		{"1 MB", MaxPayload, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(strings.Repeat("p", tc.size))
			id := newRequestID()
			if err := s.Enqueue(ctx, &api.InvokeRequest{RequestID: id, Function: fn, Payload: payload, ClientContext: "e30=", Depth: 2}); err != nil {
				t.Fatal(err)
			}
			msg, err := s.events.GetLastMsgForSubject(ctx, eventsSubject+"123456789012")
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Data) >= 1<<20 {
				t.Errorf("message of %d bytes", len(msg.Data))
			}
			ev, err := unmarshalEvent(msg.Data)
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID != id || ev.Account != "123456789012" || ev.Function != "f" || ev.Qualifier != "$LATEST" ||
				ev.Incarnation != "i1" || ev.ClientContext != "e30=" || ev.Depth != 2 || ev.Enqueued.IsZero() {
				t.Errorf("stored event %+v", ev)
			}
			if (ev.PayloadObject != "") != tc.spilled {
				t.Errorf("payload spilled: %v, want %v", ev.PayloadObject != "", tc.spilled)
			}
			got, err := s.payload(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("payload of %d bytes reads back as %d bytes", len(payload), len(got))
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		err := s.Enqueue(ctx, &api.InvokeRequest{RequestID: "x", Function: fn, Payload: make([]byte, MaxPayload+1)})
		if !awserr.IsType(err, awserr.RequestEntityTooLarge) {
			t.Errorf("Enqueue = %v, want RequestEntityTooLarge", err)
		}
	})
	t.Run("duplicate publish stored once", func(t *testing.T) {
		info, err := s.events.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before := info.State.Msgs
		req := &api.InvokeRequest{RequestID: "same-id", Function: fn, Payload: []byte(`{}`)}
		for range 2 {
			if err := s.Enqueue(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		if info, err = s.events.Info(ctx); err != nil {
			t.Fatal(err)
		}
		if got := info.State.Msgs - before; got != 1 {
			t.Errorf("two publishes of one event stored %d messages", got)
		}
	})
}
