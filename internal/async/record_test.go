package async

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBuildRecord(t *testing.T) {
	at := time.Date(2019, 11, 14, 18, 16, 5, 568e6, time.UTC)
	arn := "arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST"
	for _, tc := range []struct {
		name     string
		payload  string
		o        outcome
		wantJSON string
	}{
		{
			name:    "success",
			payload: `{"ORDER_IDS": ["a", "b"]}`,
			o:       outcome{condition: condSuccess, invokeCount: 1, status: 200, version: "$LATEST", response: []byte(`{"ok":true}`)},
			wantJSON: `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf","functionArn":"` + arn +
				`","condition":"Success","approximateInvokeCount":1},"requestPayload":{"ORDER_IDS":["a","b"]},` +
				`"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":{"ok":true}}`,
		},
		{
			name:    "retries exhausted",
			payload: `{"a":1}`,
			o: outcome{condition: condRetriesExhausted, invokeCount: 3, status: 200, version: "$LATEST", functionError: "Unhandled",
				response: []byte(`{"errorMessage":"RequestId: e4b46cbf Process exited before completing request"}`)},
			wantJSON: `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf","functionArn":"` + arn +
				`","condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":{"a":1},` +
				`"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},` +
				`"responsePayload":{"errorMessage":"RequestId: e4b46cbf Process exited before completing request"}}`,
		},
		{
			name:    "expired without a try",
			payload: ``,
			o:       outcome{condition: condEventAgeExceeded},
			wantJSON: `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf","functionArn":"` + arn +
				`","condition":"EventAgeExceeded","approximateInvokeCount":0},"requestPayload":{}}`,
		},
		{
			name:    "a response that is not JSON, HTML characters",
			payload: `"<b>&"`,
			o:       outcome{condition: condSuccess, invokeCount: 2, status: 200, version: "7", response: []byte("plain \xff text")},
			wantJSON: `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf","functionArn":"` + arn +
				`","condition":"Success","approximateInvokeCount":2},"requestPayload":"<b>&",` +
				`"responseContext":{"statusCode":200,"executedVersion":"7"},"responsePayload":"plain ` + "\uFFFD" + ` text"}`,
		},
		{
			name:    "empty response",
			payload: `[]`,
			o:       outcome{condition: condSuccess, invokeCount: 1, status: 200, version: "$LATEST"},
			wantJSON: `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf","functionArn":"` + arn +
				`","condition":"Success","approximateInvokeCount":1},"requestPayload":[],` +
				`"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":null}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildRecord(at, "e4b46cbf", arn, []byte(tc.payload), tc.o)
			var compact bytes.Buffer
			if err := json.Compact(&compact, got); err != nil {
				t.Fatalf("record is not JSON: %v\n%s", err, got)
			}
			if compact.String() != tc.wantJSON {
				t.Errorf("record\n got %s\nwant %s", compact.String(), tc.wantJSON)
			}
		})
	}
}

func TestErrorMessageOf(t *testing.T) {
	for _, tc := range []struct{ name, payload, want string }{
		{"lambda error", `{"errorMessage":"boom","errorType":"Error"}`, "boom"},
		{"not an error object", `"just text"`, `"just text"`},
		{"empty", ``, ``},
		{"control characters", `{"errorMessage":"a\u0000b\ufffe"}`, "a\ufffdb\ufffd"},
		{"invalid utf-8", "raw \xff bytes", "raw \ufffd bytes"},
		{"long", `{"errorMessage":"` + strings.Repeat("é", 600) + `"}`, strings.Repeat("é", 512)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorMessageOf([]byte(tc.payload)); got != tc.want {
				t.Errorf("errorMessageOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzBuildRecord feeds function output (untrusted bytes) into the record:
// it must always be valid JSON in valid UTF-8, and carry a JSON payload as
// the same value.
func FuzzBuildRecord(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte(`{"ok":true}`), 200)
	f.Add([]byte(``), []byte("not json \xff"), 0)
	f.Add([]byte(`[1,2`), []byte(`"\u2028"`), 429)
	f.Fuzz(func(t *testing.T, payload, response []byte, status int) {
		rec := buildRecord(time.Unix(0, 0), "id", "arn", payload, outcome{condition: condSuccess, status: status, response: response})
		if !utf8.Valid(rec) || !json.Valid(rec) {
			t.Fatalf("record is not valid JSON in UTF-8: %q", rec)
		}
		var r struct {
			RequestPayload json.RawMessage `json:"requestPayload"`
		}
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		if p := bytes.TrimSpace(payload); len(p) > 0 && utf8.Valid(p) && json.Valid(p) {
			var a, b any
			_ = json.Unmarshal(p, &a)
			_ = json.Unmarshal(r.RequestPayload, &b)
			x, _ := json.Marshal(a)
			y, _ := json.Marshal(b)
			if !bytes.Equal(x, y) {
				t.Fatalf("requestPayload %s, want %s", r.RequestPayload, p)
			}
		}
	})
}

// FuzzErrorMessageOf reads function output: the result must fit a queue
// message attribute (at most 1 KB of characters SQS accepts).
func FuzzErrorMessageOf(f *testing.F) {
	f.Add([]byte(`{"errorMessage":"boom"}`))
	f.Add([]byte("\x00\xff"))
	f.Add([]byte(`{"errorMessage":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		msg := errorMessageOf(payload)
		if len(msg) > maxErrorMessage || !utf8.ValidString(msg) {
			t.Fatalf("message %q: %d bytes or invalid UTF-8", msg, len(msg))
		}
		for _, r := range msg {
			if !xmlChar(r) {
				t.Fatalf("message %q holds %U", msg, r)
			}
		}
	})
}
