// Command consumer is a Lambda function (aws-lambda-go, provided.al2023)
// that the event source mapping tests map queues to. It decodes the event
// with aws-lambda-go's own SQS types, so a record Lambda's libraries cannot
// read fails the test, and it acts on each message's body:
//
//	{"fail": n}        report the message as a batch item failure while its
//	                   ApproximateReceiveCount is at most n
//	{"crash": n}       fail the whole invocation (a function error) while the
//	                   receive count is at most n
//	{"sleep": ms}      sleep before answering
//	{"respond": "bogus"} answer with an itemIdentifier that names no message
//	{"forward": true}  send the body again to the queue it came from, through
//	                   Cloister's API with the execution role's credentials
//	                   (a recursive loop)
//
// Bodies that are not JSON objects are processed successfully.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

type instructions struct {
	Fail    int    `json:"fail"`
	Crash   int    `json:"crash"`
	Sleep   int    `json:"sleep"`
	Respond string `json:"respond"`
	Forward bool   `json:"forward"`
}

func handle(ctx context.Context, ev events.SQSEvent) (any, error) {
	if len(ev.Records) == 0 {
		return nil, errors.New("an event without records")
	}
	var failures []events.SQSBatchItemFailure
	for _, r := range ev.Records {
		if r.EventSource != "aws:sqs" || r.MessageId == "" || r.ReceiptHandle == "" || r.EventSourceARN == "" || r.AWSRegion == "" {
			return nil, fmt.Errorf("a malformed record: %+v", r)
		}
		count, err := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		if err != nil {
			return nil, fmt.Errorf("record %s: ApproximateReceiveCount %q", r.MessageId, r.Attributes["ApproximateReceiveCount"])
		}
		var in instructions
		_ = json.Unmarshal([]byte(r.Body), &in)
		if in.Sleep > 0 {
			time.Sleep(time.Duration(in.Sleep) * time.Millisecond)
		}
		if count <= in.Crash {
			return nil, fmt.Errorf("crash requested by %s", r.MessageId)
		}
		if in.Forward {
			if err := forward(ctx, r.EventSourceARN, r.Body); err != nil {
				return nil, fmt.Errorf("forward %s: %w", r.MessageId, err)
			}
		}
		if in.Respond == "bogus" {
			return map[string]any{"batchItemFailures": []map[string]string{{"itemIdentifier": "no-such-message"}}}, nil
		}
		if count <= in.Fail {
			failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// client is the SQS client, made once per execution environment as
// Lambda functions do (its connections are reused).
var client = sync.OnceValues(func() (*sqs.Client, error) {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
})

// forward sends body to the queue queueARN names, as the function's
// execution role, through the endpoint Cloister gives functions
// (AWS_ENDPOINT_URL).
func forward(ctx context.Context, queueARN, body string) error {
	parts := strings.Split(queueARN, ":")
	if len(parts) != 6 {
		return fmt.Errorf("queue ARN %q", queueARN)
	}
	c, err := client()
	if err != nil {
		return err
	}
	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &parts[5], QueueOwnerAWSAccountId: &parts[4]})
	if err != nil {
		return err
	}
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: &body})
	return err
}

func main() {
	lambda.Start(handle)
}
