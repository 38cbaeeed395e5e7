package api_test

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
)

// The Query protocol is what the Debian AWS CLI v2 (botocore's
// "query" SQS model) sends: a signed form POST, answered in XML.

type xmlAttr struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type xmlMsgAttr struct {
	Name  string `xml:"Name"`
	Value struct {
		StringValue string `xml:"StringValue"`
		BinaryValue string `xml:"BinaryValue"`
		DataType    string `xml:"DataType"`
	} `xml:"Value"`
}

type xmlMessage struct {
	MessageID              string       `xml:"MessageId"`
	ReceiptHandle          string       `xml:"ReceiptHandle"`
	MD5OfBody              string       `xml:"MD5OfBody"`
	Body                   string       `xml:"Body"`
	Attributes             []xmlAttr    `xml:"Attribute"`
	MD5OfMessageAttributes string       `xml:"MD5OfMessageAttributes"`
	MessageAttributes      []xmlMsgAttr `xml:"MessageAttribute"`
}

func TestSQSQueryProtocol(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	name := sqsName("query")

	var created struct {
		QueueURL  string `xml:"CreateQueueResult>QueueUrl"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	h.query(t, "/", url.Values{
		"Action": {"CreateQueue"}, "Version": {"2012-11-05"}, "QueueName": {name},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"40"},
		"Tag.1.Key": {"team"}, "Tag.1.Value": {"q"},
	}).decode(t, &created)
	if created.QueueURL != h.srv.URL+"/"+h.account+"/"+name || !uuidRe.MatchString(created.RequestID) {
		t.Fatalf("CreateQueue: %+v", created)
	}
	qurl := created.QueueURL

	var sent struct {
		MD5OfMessageBody       string `xml:"SendMessageResult>MD5OfMessageBody"`
		MD5OfMessageAttributes string `xml:"SendMessageResult>MD5OfMessageAttributes"`
		MessageID              string `xml:"SendMessageResult>MessageId"`
	}
	body := "new quote"
	h.query(t, "/", url.Values{
		"Action": {"SendMessage"}, "QueueUrl": {qurl}, "MessageBody": {body},
		"MessageAttribute.1.Name": {"Quote"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"e5ue5u"},
		"MessageAttribute.2.Name": {"Author"}, "MessageAttribute.2.Value.DataType": {"String"}, "MessageAttribute.2.Value.StringValue": {"e5ye5y"},
		"MessageAttribute.3.Name": {"Raw"}, "MessageAttribute.3.Value.DataType": {"Binary"},
		"MessageAttribute.3.Value.BinaryValue": {base64.StdEncoding.EncodeToString([]byte{1, 2, 3})},
	}).decode(t, &sent)
	if sent.MD5OfMessageBody != "cf915fe1915a522edea1e8ee4c144b2e" || sent.MessageID == "" || sent.MD5OfMessageAttributes == "" {
		t.Errorf("SendMessage: %+v", sent)
	}
	attrsMD5 := sent.MD5OfMessageAttributes
	// A body with line breaks survives XML.
	h.query(t, "/", url.Values{"Action": {"SendMessage"}, "QueueUrl": {qurl}, "MessageBody": {"a\r\nb\tc <&>"}}).decode(t, &sent)

	var got struct {
		Messages []xmlMessage `xml:"ReceiveMessageResult>Message"`
	}
	var all []xmlMessage
	for i := 0; i < 20 && len(all) < 2; i++ {
		h.query(t, "/", url.Values{
			"Action": {"ReceiveMessage"}, "QueueUrl": {qurl}, "MaxNumberOfMessages": {"10"}, "WaitTimeSeconds": {"1"},
			"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"},
		}).decode(t, &got)
		all = append(all, got.Messages...)
	}
	if len(all) != 2 {
		t.Fatalf("received %d messages, want 2", len(all))
	}
	for _, m := range all {
		switch m.Body {
		case body:
			if len(m.MessageAttributes) != 3 || m.MD5OfMessageAttributes != attrsMD5 {
				t.Errorf("attributes: %+v", m.MessageAttributes)
			}
			for _, a := range m.MessageAttributes {
				if a.Name == "Raw" && a.Value.BinaryValue != base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) {
					t.Errorf("binary attribute came back as %+v", a)
				}
			}
			count := ""
			for _, a := range m.Attributes {
				if a.Name == "ApproximateReceiveCount" {
					count = a.Value
				}
			}
			if count != "1" {
				t.Errorf("ApproximateReceiveCount = %q in %+v", count, m.Attributes)
			}
		case "a\r\nb\tc <&>":
		default:
			t.Errorf("unexpected body %q", m.Body)
		}
		h.query(t, "/", url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {qurl}, "ReceiptHandle": {m.ReceiptHandle}}).decode(t, &struct{}{})
	}

	// Requests to the queue's own path need no QueueUrl.
	var attrs struct {
		Attributes []xmlAttr `xml:"GetQueueAttributesResult>Attribute"`
	}
	path := "/" + h.account + "/" + name
	h.query(t, path, url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"VisibilityTimeout"}, "AttributeName.2": {"QueueArn"}}).decode(t, &attrs)
	if len(attrs.Attributes) != 2 {
		t.Errorf("GetQueueAttributes on the queue path: %+v", attrs)
	}
	var tags struct {
		Tags []struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		} `xml:"ListQueueTagsResult>Tag"`
	}
	h.query(t, "/", url.Values{"Action": {"ListQueueTags"}, "QueueUrl": {qurl}}).decode(t, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Errorf("ListQueueTags: %+v", tags)
	}
	var list struct {
		URLs []string `xml:"ListQueuesResult>QueueUrl"`
	}
	h.query(t, "/", url.Values{"Action": {"ListQueues"}, "QueueNamePrefix": {"query-"}}).decode(t, &list)
	if len(list.URLs) != 1 || list.URLs[0] != qurl {
		t.Errorf("ListQueues: %v", list.URLs)
	}
	var batch struct {
		OK     []string `xml:"SendMessageBatchResult>SendMessageBatchResultEntry>Id"`
		Failed []struct {
			ID   string `xml:"Id"`
			Code string `xml:"Code"`
		} `xml:"SendMessageBatchResult>BatchResultErrorEntry"`
	}
	h.query(t, "/", url.Values{
		"Action": {"SendMessageBatch"}, "QueueUrl": {qurl},
		"SendMessageBatchRequestEntry.1.Id": {"a"}, "SendMessageBatchRequestEntry.1.MessageBody": {"one"},
		"SendMessageBatchRequestEntry.2.Id": {"b"}, "SendMessageBatchRequestEntry.2.MessageBody": {"two"},
		"SendMessageBatchRequestEntry.2.DelaySeconds": {"901"},
	}).decode(t, &batch)
	if len(batch.OK) != 1 || batch.OK[0] != "a" || len(batch.Failed) != 1 || batch.Failed[0].Code != "InvalidParameterValue" {
		t.Errorf("SendMessageBatch: %+v", batch)
	}
}

func TestSQSQueryErrors(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	for _, tc := range []struct {
		name   string
		path   string
		params url.Values
		status int
		code   string
	}{
		{"missing queue", "/", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}}, 400, "AWS.SimpleQueueService.NonExistentQueue"},
		{"unknown action", "/", url.Values{"Action": {"Frobnicate"}}, 400, "InvalidAction"},
		{"no action", "/", url.Values{}, 400, "InvalidAction"},
		{"bad index", "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"x"}, "Attribute.x.Name": {"a"}}, 400, "MalformedQueryString"},
		{"bad integer", "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {h.srv.URL + "/" + h.account + "/x"}, "MaxNumberOfMessages": {"ten"}}, 400, "InvalidParameterValue"},
		{"missing queue on its path", "/" + h.account + "/nope", url.Values{"Action": {"PurgeQueue"}}, 400, "AWS.SimpleQueueService.NonExistentQueue"},
		{"no queue url", "/", url.Values{"Action": {"PurgeQueue"}}, 400, "MissingParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.query(t, tc.path, tc.params)
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			var e queryError
			if err := xml.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("error body %s: %v", r.body, err)
			}
			if e.Error.Code != tc.code || e.Error.Type != "Sender" || e.Error.Message == "" || !uuidRe.MatchString(e.RequestID) {
				t.Errorf("error %+v, want code %s", e, tc.code)
			}
		})
	}
}
