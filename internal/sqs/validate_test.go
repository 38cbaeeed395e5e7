package sqs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/store"
)

func TestParseARN(t *testing.T) {
	for _, tc := range []struct {
		arn                   string
		region, account, name string
	}{
		{"arn:aws:sqs:us-east-1:123456789012:q", "us-east-1", "123456789012", "q"},
		{"arn:aws:sqs:eu-west-3:123456789012:orders.fifo", "eu-west-3", "123456789012", "orders.fifo"},
		{"arn:aws:sqs:us-east-1:12345678901:q", "", "", ""},    // 11-digit account
		{"arn:aws:sns:us-east-1:123456789012:q", "", "", ""},   // not SQS
		{"arn:aws:sqs:us-east-1:123456789012:a b", "", "", ""}, // bad name
		{"arn:aws:sqs:us-east-1:123456789012:.fifo", "", "", ""},
		{"arn:aws:sqs::123456789012:q", "", "", ""},
		{"arn:aws:sqs:us-east-1:123456789012:q:extra", "", "", ""},
		{"arn:aws:sqs:us-east-1:123456789012:" + strings.Repeat("a", 81), "", "", ""},
	} {
		t.Run(tc.arn, func(t *testing.T) {
			r, a, n, err := ParseARN(tc.arn)
			if tc.name == "" {
				if !errors.Is(err, ErrInvalidARN) {
					t.Errorf("ParseARN = %q %q %q %v, want ErrInvalidARN", r, a, n, err)
				}
				return
			}
			if err != nil || r != tc.region || a != tc.account || n != tc.name {
				t.Errorf("ParseARN = %q %q %q %v", r, a, n, err)
			}
			if ARN(r, a, n) != tc.arn {
				t.Errorf("ARN does not rebuild %s", tc.arn)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url           string
		account, name string
	}{
		{"http://127.0.0.1:9324/123456789012/q", "123456789012", "q"},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", "123456789012", "q.fifo"},
		{"https://queue.amazonaws.com/123456789012/my_queue-1", "123456789012", "my_queue-1"},
		{"ftp://h/123456789012/q", "", ""},
		{"http://h/123456789012/q?x=1", "", ""},
		{"http://h/123456789012/", "", ""},
		{"http://h/123456789012/q/more", "", ""},
		{"http:///123456789012/q", "", ""},
		{"not a url", "", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			a, n, err := ParseURL(tc.url)
			if tc.name == "" {
				if !errors.Is(err, ErrInvalidURL) {
					t.Errorf("ParseURL = %q %q %v, want ErrInvalidURL", a, n, err)
				}
				return
			}
			if err != nil || a != tc.account || n != tc.name {
				t.Errorf("ParseURL = %q %q %v", a, n, err)
			}
		})
	}
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1": true, "+1.5": true, "1.5e10": true, "1E-3": true, "12345678901234567890123456789012345678": true,
		"0000000000000000000000000000000000000000001": true,  // leading zeros are not significant
		"123456789012345678901234567890123456789":     false, // 39 significant digits
		"": false, "-": false, ".5": false, "5.": false, "1.2.3": false, "1e": false, "1e1234": false, "0x10": false, "NaN": false, "1 ": false,
	} {
		if got := validNumber(s); got != want {
			t.Errorf("validNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestMessageChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs map[string]MessageAttribute
		typ   awserr.Type
	}{
		{"ok", map[string]MessageAttribute{"a.b-c_d": {DataType: "String.label", StringValue: "v"}}, ""},
		{"reserved prefix", map[string]MessageAttribute{"amazon.x": {DataType: "String", StringValue: "v"}}, awserr.InvalidParameterValue},
		{"leading dot", map[string]MessageAttribute{".x": {DataType: "String", StringValue: "v"}}, awserr.InvalidParameterValue},
		{"double dot", map[string]MessageAttribute{"a..b": {DataType: "String", StringValue: "v"}}, awserr.InvalidParameterValue},
		{"empty value", map[string]MessageAttribute{"a": {DataType: "String"}}, awserr.InvalidParameterValue},
		{"binary as string", map[string]MessageAttribute{"a": {DataType: "Binary", StringValue: "v"}}, awserr.InvalidParameterValue},
		{"bad type", map[string]MessageAttribute{"a": {DataType: "Strings", StringValue: "v"}}, awserr.InvalidParameterValue},
		{"not a number", map[string]MessageAttribute{"a": {DataType: "Number", StringValue: "ten"}}, awserr.InvalidParameterValue},
		{"control character", map[string]MessageAttribute{"a": {DataType: "String", StringValue: "\x01"}}, awserr.InvalidParameterValue},
		{"eleven", func() map[string]MessageAttribute {
			m := map[string]MessageAttribute{}
			for _, c := range "abcdefghijk" {
				m[string(c)] = MessageAttribute{DataType: "String", StringValue: "v"}
			}
			return m
		}(), awserr.InvalidParameterValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkAttributes(tc.attrs)
			if tc.typ == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !awserr.IsType(err, tc.typ) {
				t.Errorf("checkAttributes = %v, want %s", err, tc.typ)
			}
		})
	}
	for body, typ := range map[string]awserr.Type{
		"":           awserr.SQSMissingParameter,
		"ok \t\r\n":  "",
		"\uFFFE":     awserr.SQSInvalidMessageContents,
		"\xff":       awserr.SQSInvalidMessageContents,
		"\U0001F600": "",
	} {
		err := checkBody(body)
		if (typ == "") != (err == nil) || (typ != "" && !awserr.IsType(err, typ)) {
			t.Errorf("checkBody(%q) = %v, want %q", body, err, typ)
		}
	}
}

// TestCollectOrphans: a queue stream no queue record names (left by a
// crash mid-create) is deleted once older than the grace period; a live
// queue's stream is kept.
func TestCollectOrphans(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := Open(ctx, st, Config{Region: "us-east-1", ReceiptKey: fuzzKey})
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.CreateQueue(ctx, "123456789012", "live", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	orphan := &queueRecord{ID: newID(), Account: "123456789012", Name: "gone", Attrs: defaultAttrs(false)}
	if err := s.createStream(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	if err := s.collect(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := st.JetStream().Stream(ctx, streamName(orphan.ID)); err != nil {
		t.Fatalf("a fresh orphan was collected within its grace period: %v", err)
	}
	if err := s.collect(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.JetStream().Stream(ctx, streamName(orphan.ID)); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("orphaned stream still there: %v", err)
	}
	if _, err := s.Send(ctx, live.ARN, "still here", nil); err != nil {
		t.Errorf("the live queue lost its stream: %v", err)
	}
}
