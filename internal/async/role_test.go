package async_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloister/cloister/internal/async"
)

// TestDeliveryNeedsExecutionRole delivers outcomes only where the
// execution role of the function that ran may deliver them, as Lambda:
// sqs:SendMessage on a queue destination or the dead-letter queue,
// lambda:InvokeFunction on a function destination. A delivery the role is
// refused is not made, and is kept as undelivered with the reason.
func TestDeliveryNeedsExecutionRole(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	okQ := h.queue(t, name+"-ok")
	dlq := h.queue(t, name+"-dlq")
	dest := h.create(t, name+"-dest", fnSpec{})
	// The role may send to the dead-letter queue only.
	allowDLQ, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq},
	}})
	role := h.role(t, name, string(allowDLQ))
	h.create(t, name, fnSpec{role: role, dlq: dlq})
	h.eventConfig(t, name, 0, 0, okQ, dest)

	succeeded := h.event(t, name, map[string]string{"op": "echo"})
	failed := h.event(t, name, map[string]string{"op": "fail", "arg": "boom"})

	// The dead-letter queue, which the role may send to, gets the failed
	// event.
	dead := receive(t, h.queues, dlq, 1)
	if !sameJSON(t, []byte(dead[0].Body), []byte(`{"op":"fail","arg":"boom"}`)) {
		t.Errorf("dead-letter queue got %s", dead[0].Body)
	}
	// The destinations, which it may not, get nothing; both outcomes are
	// kept, saying why.
	want := map[string]struct{ kind, target, action string }{
		succeeded: {"OnSuccess", okQ, "sqs:SendMessage"},
		failed:    {"OnFailure", dest, "lambda:InvokeFunction"},
	}
	got := map[string]async.Undelivered{}
	eventually(t, "the undelivered outcomes", func() bool {
		all, err := h.events.Undelivered(ctx, h.account, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range all {
			if _, ok := want[u.RequestID]; ok {
				got[u.RequestID] = u
			}
		}
		return len(got) == len(want)
	})
	for id, w := range want {
		u := got[id]
		if u.Kind != w.kind || u.Target != w.target || !strings.Contains(u.Reason, role) || !strings.Contains(u.Reason, "not allowed "+w.action) ||
			!strings.Contains(u.Reason, "is not authorized to perform: "+w.action) {
			t.Errorf("undelivered %+v, want kind %s to %s, the reason naming %s and %s", u, w.kind, w.target, role, w.action)
		}
		if len(u.Body) == 0 {
			t.Errorf("undelivered %s outcome without its record", w.kind)
		}
	}
	none(t, h.queues, okQ)
	none(t, h.queues, dlq)
}
