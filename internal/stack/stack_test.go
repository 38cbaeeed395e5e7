package stack_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/esm"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/stack"
	"github.com/cloister/cloister/internal/store"
)

// open opens a stack without a data plane on the store in dir.
func open(t *testing.T, dir string) (*store.Store, *stack.Stack) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := runtimes.Discover()
	if err != nil {
		t.Fatal(err)
	}
	s, err := stack.Open(ctx, st, stack.Config{Region: "us-east-1", Runtimes: catalog})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return st, s
}

// TestWithoutDataPlane: without sandboxes the stack manages but does not
// run functions; the asynchronous and mapping services see a data plane
// that refuses with ServiceUnavailableException, and the API serves.
func TestWithoutDataPlane(t *testing.T) {
	st, s := open(t, t.TempDir())
	defer st.Close()
	defer s.Close(context.Background())
	if s.DataPlane != nil {
		t.Fatal("a data plane without sandboxes")
	}
	if s.Account == "" || s.IAM == nil || s.Functions == nil || s.Queues == nil || s.Events == nil || s.Mappings == nil || s.Handler == nil {
		t.Fatalf("incomplete stack: %+v", s)
	}
	// A synchronous invoke through the async service (the API's Invoker)
	// reaches the data plane, which refuses.
	_, err := s.Events.Invoke(context.Background(), &api.InvokeRequest{RequestID: "r"})
	if !awserr.IsType(err, awserr.ServiceUnavailable) {
		t.Errorf("Invoke without a data plane = %v, want ServiceUnavailableException", err)
	}
	// So does the mapping service's invocation, as a second server's
	// mapping service would be wired.
	if _, err := s.MappingConfig().Invoke(context.Background(), esm.Invocation{RequestID: "r"}); !awserr.IsType(err, awserr.ServiceUnavailable) {
		t.Errorf("mapping Invoke without a data plane = %v, want ServiceUnavailableException", err)
	}
	if s.DataPlaneConfig().Sandboxes != nil {
		t.Error("a data-plane configuration without sandboxes")
	}
	// The API is up: an unsigned request is refused with AWS's error.
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/2015-03-31/functions/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned ListFunctions: %d, want 403", resp.StatusCode)
	}
}

// TestSharedSecretsSurviveRestart: the keys a stack generates (code URLs,
// SQS receipt handles) are kept in the store, so that a restarted server,
// or a second one, accepts what the first signed.
func TestSharedSecretsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, s := open(t, dir)
	first, err := s.IAM.Meta().Get(ctx, "sqs-receipt-key")
	if err != nil {
		t.Fatal(err)
	}
	account := s.Account
	s.Close(ctx)
	s.Close(ctx) // repeated: a no-op
	st.Close()

	st2, s2 := open(t, dir)
	defer st2.Close()
	defer s2.Close(ctx)
	second, err := s2.IAM.Meta().Get(ctx, "sqs-receipt-key")
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Value) != 32 || !bytes.Equal(first.Value, second.Value) {
		t.Errorf("receipt key changed across a restart: %x -> %x", first.Value, second.Value)
	}
	if s2.Account != account {
		t.Errorf("default account %s after restart, was %s", s2.Account, account)
	}
}
