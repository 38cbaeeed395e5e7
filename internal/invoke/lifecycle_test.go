package invoke_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/invoke"
)

// withService runs f with a second data plane on the shared harness's
// control plane, configured by cfg (short idle and lifetime limits).
func withService(t *testing.T, mutate func(*invoke.Config), f func(*invoke.Service)) {
	h := get(t)
	cfg := h.stack.DataPlaneConfig()
	mutate(&cfg)
	svc, err := invoke.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	f(svc)
}

func TestIdleEnvironmentsAreReaped(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	withService(t, func(c *invoke.Config) { c.IdleTimeout = 300 * time.Millisecond }, func(svc *invoke.Service) {
		res, err := svc.Invoke(context.Background(), h.request(t, name, `{"op":"echo"}`))
		if err != nil {
			t.Fatal(err)
		}
		if res.FunctionError != "" {
			t.Fatalf("invocation failed: %s", res.Payload)
		}
		if n := svc.Environments(h.account, name); n != 1 {
			t.Fatalf("%d idle environments after one invocation, want 1", n)
		}
		deadline := time.Now().Add(5 * time.Second)
		for svc.Environments(h.account, name) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("idle environment was not reaped")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestEnvironmentsRetireAfterMaxLifetime(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	withService(t, func(c *invoke.Config) { c.MaxLifetime = 500 * time.Millisecond }, func(svc *invoke.Service) {
		invocations := func() float64 {
			res, err := svc.Invoke(context.Background(), h.request(t, name, `{"op":"echo"}`))
			if err != nil {
				t.Fatal(err)
			}
			return decodeBytes[map[string]any](t, res.Payload)["invocations"].(float64)
		}
		if n := invocations(); n != 1 {
			t.Fatalf("first invocation count %v", n)
		}
		if n := invocations(); n != 2 {
			t.Fatalf("a young environment was not reused: count %v", n)
		}
		time.Sleep(700 * time.Millisecond)
		if n := invocations(); n != 1 {
			t.Fatalf("an environment past its lifetime served again: count %v", n)
		}
	})
}

func TestDeleteRetiresEnvironments(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	h.invoke(t, name, map[string]any{"op": "echo"})
	if n := h.inv.Environments(h.account, name); n != 1 {
		t.Fatalf("%d idle environments, want 1", n)
	}
	if _, err := h.client.DeleteFunction(context.Background(), delInput(name)); err != nil {
		t.Fatal(err)
	}
	if n := h.inv.Environments(h.account, name); n != 0 {
		t.Fatalf("%d environments survived the function's deletion", n)
	}
}
