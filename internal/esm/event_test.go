package esm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/cloister/cloister/internal/sqs"
)

// TestRecordFormat pins the event record to Lambda's SQS format, member
// order included (the message is the sample record of Lambda's SQS
// documentation, whose md5OfBody is that of "Test message."), and checks
// that aws-lambda-go reads it back.
func TestRecordFormat(t *testing.T) {
	sent := time.UnixMilli(1545082649183)
	m := &sqs.Message{
		MessageID: "059f36b4-87a3-44ab-83d2-661975830a7d", ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a", Body: "Test message.",
		MD5OfBody: sqs.MD5OfBody("Test message."), SenderID: "AIDAIENQZJOLO23YVJ4VO", SentTimestamp: sent,
		FirstReceiveTimestamp: sent.Add(2 * time.Millisecond), ReceiveCount: 1,
		Attributes: map[string]sqs.MessageAttribute{
			"Author": {DataType: "String", StringValue: "John Grisham"},
			"Blob":   {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
		},
	}
	r := newRecord(m, "arn:aws:sqs:us-east-2:123456789012:my-queue", "us-east-2")
	got, err := encodeRecord(&r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":"Test message.",` +
		`"attributes":{"ApproximateFirstReceiveTimestamp":"1545082649185","ApproximateReceiveCount":"1","SenderId":"AIDAIENQZJOLO23YVJ4VO","SentTimestamp":"1545082649183"},` +
		`"messageAttributes":{"Author":{"stringValue":"John Grisham","stringListValues":[],"binaryListValues":[],"dataType":"String"},` +
		`"Blob":{"binaryValue":"AAEC","stringListValues":[],"binaryListValues":[],"dataType":"Binary"}},` +
		`"md5OfMessageAttributes":"` + sqs.MD5OfAttributes(m.Attributes) + `",` +
		`"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:my-queue","awsRegion":"us-east-2"}`
	if string(got) != want {
		t.Errorf("record\n got %s\nwant %s", got, want)
	}

	var ev events.SQSEvent
	if err := json.Unmarshal(event([][]byte{got, got}), &ev); err != nil {
		t.Fatal(err)
	}
	author := "John Grisham"
	wantMsg := events.SQSMessage{
		MessageId: m.MessageID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Md5OfBody: m.MD5OfBody,
		Md5OfMessageAttributes: sqs.MD5OfAttributes(m.Attributes),
		Attributes: map[string]string{"ApproximateFirstReceiveTimestamp": "1545082649185", "ApproximateReceiveCount": "1",
			"SenderId": "AIDAIENQZJOLO23YVJ4VO", "SentTimestamp": "1545082649183"},
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"Author": {StringValue: &author, StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: "String"},
			"Blob":   {BinaryValue: []byte{0, 1, 2}, StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: "Binary"},
		},
		EventSourceARN: "arn:aws:sqs:us-east-2:123456789012:my-queue", EventSource: "aws:sqs", AWSRegion: "us-east-2",
	}
	if diff := cmp.Diff(events.SQSEvent{Records: []events.SQSMessage{wantMsg, wantMsg}}, ev); diff != "" {
		t.Errorf("aws-lambda-go reads (-want +got):\n%s", diff)
	}

	plain := newRecord(&sqs.Message{MessageID: "m", Body: "<&>"}, "arn", "r")
	got, err = encodeRecord(&plain)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"messageId":"m","receiptHandle":"","body":"<&>","attributes":{"ApproximateFirstReceiveTimestamp":"-62135596800000","ApproximateReceiveCount":"0","SentTimestamp":"-62135596800000"},` +
		`"messageAttributes":{},"md5OfMessageAttributes":null,"md5OfBody":"","eventSource":"aws:sqs","eventSourceARN":"arn","awsRegion":"r"}`
	if string(got) != want {
		t.Errorf("record without attributes\n got %s\nwant %s", got, want)
	}
}

func TestFailedItems(t *testing.T) {
	batch := map[string]bool{"m1": true, "m2": true}
	for _, tc := range []struct {
		name, payload string
		ok            bool
		failed        []string
	}{
		{"empty", ``, true, nil},
		{"null", `null`, true, nil},
		{"empty object", `{}`, true, nil},
		{"other members", `{"status":"done"}`, true, nil},
		{"empty list", `{"batchItemFailures":[]}`, true, nil},
		{"null list", `{"batchItemFailures":null}`, true, nil},
		{"one", `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, true, []string{"m2"}},
		{"twice", `{"batchItemFailures":[{"itemIdentifier":"m2"},{"itemIdentifier":"m2"}]}`, true, []string{"m2"}},
		{"all", ` {"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]} `, true, []string{"m1", "m2"}},
		{"empty identifier", `{"batchItemFailures":[{"itemIdentifier":""}]}`, false, nil},
		{"null identifier", `{"batchItemFailures":[{"itemIdentifier":null}]}`, false, nil},
		{"numeric identifier", `{"batchItemFailures":[{"itemIdentifier":1}]}`, false, nil},
		{"wrong key", `{"batchItemFailures":[{"foo":"notvalid"}]}`, false, nil},
		{"unknown message", `{"batchItemFailures":[{"itemIdentifier":"m3"}]}`, false, nil},
		{"null item", `{"batchItemFailures":[null]}`, false, nil},
		{"not a list", `{"batchItemFailures":"m1"}`, false, nil},
		{"not JSON", `{not a json body`, false, nil},
		{"a string", `"ok"`, false, nil},
		{"a list", `[]`, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed, ok := failedItems([]byte(tc.payload), batch)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			var got []string
			for _, id := range []string{"m1", "m2"} {
				if failed[id] {
					got = append(got, id)
				}
			}
			if diff := cmp.Diff(tc.failed, got); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
		})
	}
}
