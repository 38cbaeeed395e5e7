package esm

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cloister/cloister/internal/sqs"
)

// The fuzzers feed outside bytes to the parsers that take them: filter
// patterns (from API callers), message bodies (from anyone who can send to
// a mapped queue) and function responses (from function code). None may
// panic, and their answers must stay within what the caller can use.

var patternSeeds = []string{
	`{"body":{"kind":["keep"]}}`,
	`{"body":[{"prefix":"urgent"}]}`,
	`{"body":{"n":[{"numeric":[">",0,"<=",5]}],"s":[{"anything-but":{"prefix":"x"}}]}}`,
	`{"attributes":{"ApproximateReceiveCount":[{"anything-but":["1","2"]}]}}`,
	`{"messageAttributes":{"team":{"stringValue":[{"equals-ignore-case":"blue"}]}}}`,
	`{"$or":[{"body":{"a":[{"exists":true}]}},{"body":{"b":[null,"",true,1.5]}}]}`,
	`{"body":{"a":{"b":{"c":[{"suffix":{"equals-ignore-case":".PNG"}}]}}}}`,
	`{"a":[{"wildcard":"x*"}]}`, `{}`, `[]`, `{"a":[1e999]}`, `{"a":[{"numeric":["=",1,"<",2]}]}`,
}

var bodySeeds = []string{
	`{"kind":"keep","n":3}`, `urgent: disk full`, `{"a":[{"b":{"c":"x.png"}}]}`, `[1,2,3]`, `null`, ``,
	`{"n":1e400}`, `{"a":{"a":{"a":{"a":{}}}}}`, "\xff\xfe", `{"s":"init","team":"BLUE"}`,
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range patternSeeds {
		f.Add(s)
	}
	values := []any{nil, "x", 1.0, true, []any{}, map[string]any{}, map[string]any{"a": []any{"x", 1.0, nil}}}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParsePattern(src)
		if err != nil {
			if !errors.Is(err, ErrInvalidPattern) {
				t.Fatalf("ParsePattern(%q) = %v, not ErrInvalidPattern", src, err)
			}
			return
		}
		if len(src) > maxPatternLength {
			t.Fatalf("accepted a %d-byte pattern", len(src))
		}
		// A valid pattern matches deterministically against anything,
		// including values decoded from the pattern's own text.
		var self any
		_ = json.Unmarshal([]byte(src), &self)
		for _, v := range append(values, self) {
			first := p.Match(v)
			if again := p.Match(v); again != first {
				t.Fatalf("%q matches %v inconsistently", src, v)
			}
		}
	})
}

func FuzzFilterMatch(f *testing.F) {
	for i, p := range patternSeeds {
		f.Add(p, bodySeeds[i%len(bodySeeds)], "blue")
	}
	f.Fuzz(func(t *testing.T, pattern, body, attr string) {
		fs, err := compileFilters([]string{pattern})
		if err != nil {
			return
		}
		m := &sqs.Message{MessageID: "m1", ReceiptHandle: "h", Body: body, MD5OfBody: sqs.MD5OfBody(body),
			Attributes: map[string]sqs.MessageAttribute{"team": {DataType: "String", StringValue: attr}}}
		r := newRecord(m, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
		first := fs.match(&r)
		if again := fs.match(&r); again != first {
			t.Fatalf("pattern %q on body %q: inconsistent", pattern, body)
		}
		// Adding a filter that matches everything this record has can
		// only widen the criteria.
		wider, err := compileFilters([]string{pattern, `{"messageId":["m1"]}`})
		if err != nil {
			t.Fatal(err)
		}
		if !wider.match(&r) {
			t.Fatalf("a filter on the record's own messageId does not match (pattern %q, body %q)", pattern, body)
		}
		if _, err := encodeRecord(&r); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
	})
}

func FuzzFailedItems(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `{"batchItemFailures":[]}`, `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`,
		`{"batchItemFailures":[{"itemIdentifier":""}]}`, `{"batchItemFailures":[{"foo":1}]}`, `{"batchItemFailures":"m1"}`,
		`{not json`, `[{"itemIdentifier":"m1"}]`, `{"batchItemFailures":[null,{"itemIdentifier":"m2"}]}`,
	} {
		f.Add([]byte(s))
	}
	batch := map[string]bool{"m1": true, "m2": true}
	f.Fuzz(func(t *testing.T, payload []byte) {
		failed, ok := failedItems(payload, batch)
		if !ok && failed != nil {
			t.Fatalf("%q: failures reported with an invalid response", payload)
		}
		for id := range failed {
			if !batch[id] {
				t.Fatalf("%q: failure %q is not a message of the batch", payload, id)
			}
		}
	})
}
