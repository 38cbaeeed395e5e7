package api

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// sqsOpNames are the SQS operations in a stable order.
func sqsOpNames() []string {
	names := make([]string, 0, len(sqsOps))
	for n := range sqsOps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FuzzSQSJSONDecode feeds arbitrary bodies to every operation's JSON
// protocol decoder: they must decode or refuse, never panic, and what
// decodes must still say which queue it names.
func FuzzSQSJSONDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"QueueUrl":"http://localhost/123456789012/q","MessageBody":"hi","DelaySeconds":5,` +
			`"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAE="},"b":{"DataType":"String","StringValue":"x"}}}`,
		`{"QueueName":"q.fifo","Attributes":{"FifoQueue":"true"},"tags":{"k":"v"}}`,
		`{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"m","MessageAttributes":{"n":{"DataType":"Number","StringValue":"1"}}},{"Id":"b","ReceiptHandle":"h","VisibilityTimeout":3}]}`,
		`{"QueueUrl":"u","AttributeNames":["All"],"MessageSystemAttributeNames":["All"],"MessageAttributeNames":[".*"],"MaxNumberOfMessages":10,"WaitTimeSeconds":20}`,
		`{"MaxResults":"x"}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		`{"QueueUrl":null,"Entries":null}`,
	} {
		f.Add(seed)
	}
	names := sqsOpNames()
	f.Fuzz(func(t *testing.T, body string) {
		for _, name := range names {
			sc := &sqsCall{call: &call{body: []byte(body)}, json: true, op: name}
			v, err := sqsOps[name].decode(sc, &sqsInput{})
			if err != nil {
				continue
			}
			_ = v.queueURL()
			_, _ = v.named("123456789012")
		}
	})
}

// FuzzSQSQueryDecode feeds arbitrary form bodies to the Query protocol's
// form reader and every operation's decoder.
func FuzzSQSQueryDecode(f *testing.F) {
	for _, seed := range []string{
		"Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2F127.0.0.1%3A9999%2F123456789012%2Fq1&MessageBody=hello" +
			"&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v" +
			"&MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=aGk%3D",
		"Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Tag.1.Key=k&Tag.1.Value=v",
		"Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x" +
			"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number" +
			"&SendMessageBatchRequestEntry.2.DelaySeconds=z",
		"Action=DeleteMessageBatch&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=h",
		"Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=20",
		"Attribute.0.Name=x&Attribute.01.Name=y&Attribute.1001.Name=z&Tags.1.Value=v",
		"%zz=1",
		"MessageAttribute.1.Value.StringListValue.1=a&MessageAttribute.1.Value.BinaryValue=%%%",
	} {
		f.Add(seed)
	}
	names := sqsOpNames()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		c := &call{r: r, body: []byte(body)}
		form, err := sqsForm(c)
		if err != nil {
			return
		}
		for _, name := range names {
			sc := &sqsCall{call: c, op: name}
			v, err := sqsOps[name].decode(sc, &sqsInput{form: form})
			if err != nil {
				continue
			}
			_ = v.queueURL()
		}
	})
}

// FuzzSQSDetect: telling SQS requests from others never panics on
// arbitrary paths and headers.
func FuzzSQSDetect(f *testing.F) {
	f.Add("/", "AmazonSQS.SendMessage", "")
	f.Add("/123456789012/q.fifo", "", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00")
	f.Add("/2015-03-31/functions", "", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request")
	f.Fuzz(func(t *testing.T, path, target, auth string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.URL.Path = path
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("Authorization", auth)
		isSQS := isSQSRequest(r)
		if strings.HasPrefix(target, sqsTargetPrefix) && !isSQS {
			t.Fatal("a request targeting AmazonSQS was not taken for SQS")
		}
		if isSQS && !strings.HasPrefix(target, sqsTargetPrefix) && path != "/" && !sqsQueuePath.MatchString(path) {
			t.Fatalf("path %q taken for SQS", path)
		}
	})
}
