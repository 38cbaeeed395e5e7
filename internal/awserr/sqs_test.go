package awserr

import (
	"errors"
	"strings"
	"testing"
)

func TestSQSWireForm(t *testing.T) {
	for _, tc := range []struct {
		err      error
		jsonType string
		code     string
		status   int
		sender   bool
	}{
		{New(SQSQueueDoesNotExist, "x"), "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, true},
		{New(SQSQueueNameExists, "x"), "com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists", 400, true},
		{New(SQSPurgeQueueInProgress, "x"), "com.amazonaws.sqs#PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403, true},
		{New(InvalidParameterValue, "x"), "com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue", 400, true},
		{New(AccessDenied, "x"), "com.amazon.coral.service#AccessDeniedException", "AccessDenied", 403, true},
		{New(UnrecognizedClient, "x"), "com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId", 403, true},
		{New(ServiceUnavailable, "x"), "com.amazon.coral.service#ServiceUnavailableException", "ServiceUnavailable", 503, false},
		{errors.New("disk on fire"), "com.amazon.coral.service#InternalFailure", "InternalError", 500, false},
		{New(ResourceNotFound, "a Lambda type"), "com.amazon.coral.service#InternalFailure", "InternalError", 500, false},
	} {
		jsonType, code, status, sender := As(tc.err).SQS()
		if jsonType != tc.jsonType || code != tc.code || status != tc.status || sender != tc.sender {
			t.Errorf("%v: SQS() = %s %s %d %v, want %s %s %d %v", tc.err, jsonType, code, status, sender, tc.jsonType, tc.code, tc.status, tc.sender)
		}
	}
}

// TestSQSTypesComplete: every SQS error type has a code and a client
// status, which Status reports.
func TestSQSTypesComplete(t *testing.T) {
	for _, typ := range []Type{
		SQSQueueDoesNotExist, SQSQueueNameExists, SQSQueueDeletedRecently, SQSInvalidAttributeName,
		SQSInvalidAttributeValue, SQSInvalidMessageContents, SQSReceiptHandleIsInvalid, SQSMessageNotInflight,
		SQSInvalidIDFormat, SQSTooManyEntriesInBatchRequest, SQSEmptyBatchRequest, SQSBatchEntryIdsNotDistinct,
		SQSBatchRequestTooLong, SQSInvalidBatchEntryID, SQSPurgeQueueInProgress, SQSOverLimit,
		SQSUnsupportedOperation, SQSInvalidAddress, SQSMissingParameter, SQSRequestThrottled,
	} {
		s, ok := sqsShapes[typ]
		if !ok || s.code == "" || s.status < 400 || s.status >= 500 {
			t.Errorf("%s: %+v", typ, s)
		}
		if typ.Status() != s.status {
			t.Errorf("%s: Status() = %d, table says %d", typ, typ.Status(), s.status)
		}
		if strings.HasPrefix(string(typ), "SQS") {
			t.Errorf("%s: the value must be the model's shape name", typ)
		}
	}
}
