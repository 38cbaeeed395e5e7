package awserr

import "net/http"

// Error types of Amazon SQS. The value is the error shape's name in the SQS
// API model, which the AWS JSON 1.0 protocol sends (namespaced) in
// "__type"; sqsShapes holds the legacy code the Query protocol sends in
// <Code> and that JSON clients read from the x-amzn-query-error header.
const (
	SQSQueueDoesNotExist            Type = "QueueDoesNotExist"
	SQSQueueNameExists              Type = "QueueNameExists"
	SQSQueueDeletedRecently         Type = "QueueDeletedRecently"
	SQSInvalidAttributeName         Type = "InvalidAttributeName"
	SQSInvalidAttributeValue        Type = "InvalidAttributeValue"
	SQSInvalidMessageContents       Type = "InvalidMessageContents"
	SQSReceiptHandleIsInvalid       Type = "ReceiptHandleIsInvalid"
	SQSMessageNotInflight           Type = "MessageNotInflight"
	SQSInvalidIDFormat              Type = "InvalidIdFormat"
	SQSTooManyEntriesInBatchRequest Type = "TooManyEntriesInBatchRequest"
	SQSEmptyBatchRequest            Type = "EmptyBatchRequest"
	SQSBatchEntryIdsNotDistinct     Type = "BatchEntryIdsNotDistinct"
	SQSBatchRequestTooLong          Type = "BatchRequestTooLong"
	SQSInvalidBatchEntryID          Type = "InvalidBatchEntryId"
	SQSPurgeQueueInProgress         Type = "PurgeQueueInProgress"
	SQSOverLimit                    Type = "OverLimit"
	SQSUnsupportedOperation         Type = "UnsupportedOperation"
	SQSInvalidAddress               Type = "InvalidAddress"
	SQSMissingParameter             Type = "MissingParameter"
	SQSRequestThrottled             Type = "RequestThrottled"
)

// sqsShape is how an error type appears on SQS's wire.
type sqsShape struct {
	// jsonType is "__type" under the JSON protocol.
	jsonType string
	// code is the Query protocol's <Code> and the x-amzn-query-error code.
	code   string
	status int
	// receiver marks a server fault (Receiver instead of Sender).
	receiver bool
}

const (
	sqsNamespace   = "com.amazonaws.sqs#"
	coralNamespace = "com.amazon.coral.service#"
)

// sqsShapes is the one table from error type to SQS's wire form, following
// the SQS API model (2012-11-05) and its awsQueryError codes. Types shared
// with other services carry the form SQS uses for the same failure.
var sqsShapes = map[Type]sqsShape{
	SQSQueueDoesNotExist:            {code: "AWS.SimpleQueueService.NonExistentQueue", status: 400},
	SQSQueueNameExists:              {code: "QueueAlreadyExists", status: 400},
	SQSQueueDeletedRecently:         {code: "AWS.SimpleQueueService.QueueDeletedRecently", status: 400},
	SQSInvalidAttributeName:         {code: "InvalidAttributeName", status: 400},
	SQSInvalidAttributeValue:        {code: "InvalidAttributeValue", status: 400},
	SQSInvalidMessageContents:       {code: "InvalidMessageContents", status: 400},
	SQSReceiptHandleIsInvalid:       {code: "ReceiptHandleIsInvalid", status: 400},
	SQSMessageNotInflight:           {code: "AWS.SimpleQueueService.MessageNotInflight", status: 400},
	SQSInvalidIDFormat:              {code: "InvalidIdFormat", status: 400},
	SQSTooManyEntriesInBatchRequest: {code: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", status: 400},
	SQSEmptyBatchRequest:            {code: "AWS.SimpleQueueService.EmptyBatchRequest", status: 400},
	SQSBatchEntryIdsNotDistinct:     {code: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", status: 400},
	SQSBatchRequestTooLong:          {code: "AWS.SimpleQueueService.BatchRequestTooLong", status: 400},
	SQSInvalidBatchEntryID:          {code: "AWS.SimpleQueueService.InvalidBatchEntryId", status: 400},
	SQSPurgeQueueInProgress:         {code: "AWS.SimpleQueueService.PurgeQueueInProgress", status: 403},
	SQSOverLimit:                    {code: "OverLimit", status: 403},
	SQSUnsupportedOperation:         {code: "AWS.SimpleQueueService.UnsupportedOperation", status: 400},
	SQSInvalidAddress:               {code: "InvalidAddress", status: 404},
	SQSMissingParameter:             {code: "MissingParameter", status: 400},
	SQSRequestThrottled:             {code: "RequestThrottled", status: 403},

	InvalidParameterValue:      {jsonType: sqsNamespace + "InvalidParameterValue", code: "InvalidParameterValue", status: 400},
	InvalidRequestContent:      {jsonType: coralNamespace + "SerializationException", code: "MalformedQueryString", status: 400},
	UnknownOperation:           {jsonType: coralNamespace + "UnknownOperationException", code: "InvalidAction", status: 400},
	RequestEntityTooLarge:      {jsonType: coralNamespace + "RequestEntityTooLargeException", code: "RequestEntityTooLarge", status: 413},
	AccessDenied:               {jsonType: coralNamespace + "AccessDeniedException", code: "AccessDenied", status: 403},
	UnrecognizedClient:         {jsonType: coralNamespace + "UnrecognizedClientException", code: "InvalidClientTokenId", status: 403},
	InvalidSignature:           {jsonType: coralNamespace + "InvalidSignatureException", code: "SignatureDoesNotMatch", status: 403},
	IncompleteSignature:        {jsonType: coralNamespace + "IncompleteSignatureException", code: "IncompleteSignature", status: 403},
	MissingAuthenticationToken: {jsonType: coralNamespace + "MissingAuthenticationTokenException", code: "MissingAuthenticationToken", status: 403},
	ExpiredToken:               {jsonType: coralNamespace + "ExpiredTokenException", code: "ExpiredToken", status: 403},
	TooManyRequests:            {jsonType: sqsNamespace + "RequestThrottled", code: "RequestThrottled", status: 403},
	ServiceUnavailable:         {jsonType: coralNamespace + "ServiceUnavailableException", code: "ServiceUnavailable", status: 503, receiver: true},
}

// SQS returns how e is sent by Amazon SQS: the JSON protocol's "__type", the
// Query protocol's <Code> (also sent in x-amzn-query-error), the HTTP
// status and whether the fault is the sender's. Types SQS does not know
// are an internal failure that reveals nothing.
func (e *Error) SQS() (jsonType, code string, status int, sender bool) {
	s, ok := sqsShapes[e.Type]
	if !ok {
		return coralNamespace + "InternalFailure", "InternalError", http.StatusInternalServerError, false
	}
	jsonType = s.jsonType
	if jsonType == "" {
		jsonType = sqsNamespace + string(e.Type)
	}
	return jsonType, s.code, s.status, !s.receiver
}
