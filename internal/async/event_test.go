package async

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleEvents() map[string]*event {
	at := time.UnixMilli(1700000000123).UTC()
	return map[string]*event{
		"minimal": {ID: "r", Account: "123456789012", Function: "f", Enqueued: at, NotBefore: at},
		"full": {
			ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Account: "123456789012", Function: "my-function",
			Qualifier: "live", Incarnation: "inc-1", ClientContext: "eyJjdXN0b20iOnt9fQ==",
			Enqueued: at, NotBefore: at.Add(time.Minute), Attempt: 2, Retries: 7, Depth: 3,
			Lineage:    []string{"arn:aws:lambda:us-east-1:123456789012:function:a:$LATEST r1", "arn:aws:lambda:us-east-1:123456789012:function:b:1 r2"},
			LastStatus: 429, LastVersion: "$LATEST", LastFunctionError: "Unhandled",
			LastError: []byte(`{"errorType":"TooManyRequestsException","errorMessage":"Rate Exceeded."}`),
			Payload:   []byte(`{"hello":"world"}`),
		},
		"spilled": {
			ID: "r2", Account: "123456789012", Function: "f", Qualifier: "$LATEST", Enqueued: at, NotBefore: at,
			PayloadObject: "payload/abc", PayloadSize: MaxPayload,
		},
	}
}

func TestEventRoundTrip(t *testing.T) {
	for name, ev := range sampleEvents() {
		t.Run(name, func(t *testing.T) {
			got, err := unmarshalEvent(ev.marshal())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ev, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalEventRejects(t *testing.T) {
	good := sampleEvents()["full"].marshal()
	// A record whose first field (the id) claims more bytes than follow.
	hugeLen := append([]byte(recordMagic+"\x01"), binary.AppendUvarint(nil, 1<<40)...)
	bad := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, data := range map[string][]byte{
		"empty":            nil,
		"bad magic":        bad(func(b []byte) []byte { b[0] = 'X'; return b }),
		"unknown version":  bad(func(b []byte) []byte { b[2] = 9; return b }),
		"truncated":        good[:len(good)-3],
		"trailing bytes":   append(append([]byte(nil), good...), 0),
		"length past end":  hugeLen,
		"bad varint":       append([]byte(recordMagic+"\x01"), bytes.Repeat([]byte{0xff}, 11)...),
		"invalid utf-8":    (&event{ID: "\xff", Account: "a", Function: "f"}).marshal(),
		"missing id":       (&event{Account: "a", Function: "f"}).marshal(),
		"bad payload kind": bad(func(b []byte) []byte { b[len(b)-len(`{"hello":"world"}`)-2] = 7; return b }),
		"empty object name": func() []byte {
			b := (&event{ID: "r", Account: "a", Function: "f", PayloadObject: "x", PayloadSize: 1}).marshal()
			// ... kind 1, name length 1, "x", size 1 -> name length 0.
			return append(b[:len(b)-3], 0, 1)
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := unmarshalEvent(data); !errors.Is(err, ErrMalformed) {
				t.Errorf("unmarshalEvent = %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzUnmarshalEvent decodes arbitrary bytes (records come from the store,
// which other clients of an external cluster can write): it must never
// panic, and what it accepts must encode back to a record that decodes to
// the same event.
func FuzzUnmarshalEvent(f *testing.F) {
	for _, ev := range sampleEvents() {
		f.Add(ev.marshal())
	}
	f.Add([]byte(recordMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := unmarshalEvent(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := unmarshalEvent(ev.marshal())
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if diff := cmp.Diff(ev, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
