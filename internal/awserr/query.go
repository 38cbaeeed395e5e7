package awserr

import "net/http"

// Error types of IAM and STS (AWS Query protocol), whose value is the code
// the Query protocol sends in <Code>.
const (
	NoSuchEntity            Type = "NoSuchEntity"
	EntityAlreadyExists     Type = "EntityAlreadyExists"
	MalformedPolicyDocument Type = "MalformedPolicyDocument"
	LimitExceeded           Type = "LimitExceeded"
	DeleteConflict          Type = "DeleteConflict"
	InvalidInput            Type = "InvalidInput"
	UnmodifiableEntity      Type = "UnmodifiableEntity"
	PolicyNotAttachable     Type = "PolicyNotAttachable"
	ConcurrentModification  Type = "ConcurrentModification"
	PackedPolicyTooLarge    Type = "PackedPolicyTooLarge"
	MissingAction           Type = "MissingAction"
	MalformedQueryString    Type = "MalformedQueryString"
)

// Error types of AWS Organizations (AWS JSON 1.1 protocol), sent as
// "__type".
const (
	OrgsNotInUse                  Type = "AWSOrganizationsNotInUseException"
	OrgsAccountNotFound           Type = "AccountNotFoundException"
	OrgsPolicyNotFound            Type = "PolicyNotFoundException"
	OrgsDuplicatePolicy           Type = "DuplicatePolicyException"
	OrgsDuplicatePolicyAttachment Type = "DuplicatePolicyAttachmentException"
	OrgsPolicyNotAttached         Type = "PolicyNotAttachedException"
	OrgsPolicyInUse               Type = "PolicyInUseException"
	OrgsTargetNotFound            Type = "TargetNotFoundException"
	OrgsInvalidInput              Type = "InvalidInputException"
	OrgsConstraintViolation       Type = "ConstraintViolationException"
	OrgsMalformedPolicyDocument   Type = "MalformedPolicyDocumentException"
	OrgsCreateStatusNotFound      Type = "CreateAccountStatusNotFoundException"
	OrgsConcurrentModification    Type = "ConcurrentModificationException"
)

// queryShape is how an error type appears under the Query protocol.
type queryShape struct {
	// code is <Code>; empty means the Type itself.
	code   string
	status int
	// receiver: <Type>Receiver</Type> (a server fault) instead of Sender.
	receiver bool
}

// queryShapes is the one table from error type to Query-protocol code and
// status (IAM and STS, following their API models), and the status of the
// Organizations error types. Types shared with Lambda carry the code the
// Query protocol uses for the same failure.
var queryShapes = map[Type]queryShape{
	NoSuchEntity:            {status: 404},
	EntityAlreadyExists:     {status: 409},
	MalformedPolicyDocument: {status: 400},
	LimitExceeded:           {status: 409},
	DeleteConflict:          {status: 409},
	InvalidInput:            {status: 400},
	UnmodifiableEntity:      {status: 400},
	PolicyNotAttachable:     {status: 400},
	ConcurrentModification:  {status: 409},
	PackedPolicyTooLarge:    {status: 400},
	MissingAction:           {status: 400},
	MalformedQueryString:    {status: 400},

	AccessDenied:               {code: "AccessDenied", status: 403},
	UnrecognizedClient:         {code: "InvalidClientTokenId", status: 403},
	InvalidSignature:           {code: "SignatureDoesNotMatch", status: 403},
	IncompleteSignature:        {code: "IncompleteSignature", status: 403},
	MissingAuthenticationToken: {code: "MissingAuthenticationToken", status: 403},
	ExpiredToken:               {code: "ExpiredToken", status: 403},
	Validation:                 {code: "ValidationError", status: 400},
	UnknownOperation:           {code: "InvalidAction", status: 400},
	InvalidParameterValue:      {code: "InvalidParameterValue", status: 400},
	InvalidRequestContent:      {code: "MalformedQueryString", status: 400},
	RequestEntityTooLarge:      {code: "RequestEntityTooLarge", status: 413},
	TooManyRequests:            {code: "Throttling", status: 400},
	Service:                    {code: "ServiceFailure", status: 500, receiver: true},
	ServiceUnavailable:         {code: "ServiceUnavailable", status: 503, receiver: true},

	OrgsNotInUse:                  {status: 400},
	OrgsAccountNotFound:           {status: 400},
	OrgsPolicyNotFound:            {status: 400},
	OrgsDuplicatePolicy:           {status: 400},
	OrgsDuplicatePolicyAttachment: {status: 400},
	OrgsPolicyNotAttached:         {status: 400},
	OrgsPolicyInUse:               {status: 400},
	OrgsTargetNotFound:            {status: 400},
	OrgsInvalidInput:              {status: 400},
	OrgsConstraintViolation:       {status: 400},
	OrgsMalformedPolicyDocument:   {status: 400},
	OrgsCreateStatusNotFound:      {status: 400},
	OrgsConcurrentModification:    {status: 400},
}

// Query returns how e is sent under the AWS Query protocol (IAM, STS): the
// <Code>, the HTTP status and whether the fault is the sender's. Types
// without a Query form are a server fault (ServiceFailure, 500), except the
// 4xx types, which keep their status and name.
func (e *Error) Query() (code string, status int, sender bool) {
	if q, ok := queryShapes[e.Type]; ok && q.code != "" {
		return q.code, q.status, !q.receiver
	}
	if q, ok := queryShapes[e.Type]; ok {
		return string(e.Type), q.status, !q.receiver
	}
	status = e.Type.Status()
	if status >= 500 || status < 400 {
		return "ServiceFailure", http.StatusInternalServerError, false
	}
	return string(e.Type), status, true
}

// JSONBody is the body of e under the AWS JSON 1.0/1.1 protocols
// (Organizations): its type in "__type" and the message.
func (e *Error) JSONBody() map[string]any {
	body := map[string]any{"__type": string(e.Type), "Message": e.Message}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	return body
}
