// Package awserr defines the errors Cloister returns to AWS clients: each
// has an AWS error type (the code clients switch on), a message, and the HTTP
// status and body shape that type has on the wire.
//
// Domain packages return *Error values (or wrap them with %w); the API layer
// turns any error into a response with Write, the one place where error types
// map to statuses. An error that is not an *Error becomes a 500
// ServiceException whose message reveals nothing of the cause.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Type is an AWS error type, as sent in X-Amzn-ErrorType.
type Type string

// The error types Cloister uses.
const (
	InvalidParameterValue          Type = "InvalidParameterValueException"
	InvalidRequestContent          Type = "InvalidRequestContentException"
	Validation                     Type = "ValidationException"
	ResourceNotFound               Type = "ResourceNotFoundException"
	ResourceConflict               Type = "ResourceConflictException"
	ResourceInUse                  Type = "ResourceInUseException"
	PreconditionFailed             Type = "PreconditionFailedException"
	RequestEntityTooLarge          Type = "RequestEntityTooLargeException"
	TooManyRequests                Type = "TooManyRequestsException"
	Service                        Type = "ServiceException"
	AccessDenied                   Type = "AccessDeniedException"
	UnrecognizedClient             Type = "UnrecognizedClientException"
	InvalidSignature               Type = "InvalidSignatureException"
	IncompleteSignature            Type = "IncompleteSignatureException"
	MissingAuthenticationToken     Type = "MissingAuthenticationTokenException"
	ExpiredToken                   Type = "ExpiredTokenException"
	UnknownOperation               Type = "UnknownOperationException"
	ProvisionedConcurrencyNotFound Type = "ProvisionedConcurrencyConfigNotFoundException"
	CodeStorageExceeded            Type = "CodeStorageExceededException"
	CodeVerificationFailed         Type = "CodeVerificationFailedException"
	InvalidCodeSignature           Type = "InvalidCodeSignatureException"
	CodeSigningConfigNotFound      Type = "CodeSigningConfigNotFoundException"
	InvalidZipFile                 Type = "InvalidZipFileException"
	ResourceNotReady               Type = "ResourceNotReadyException"
	PolicyLengthExceeded           Type = "PolicyLengthExceededException"
	UnsupportedMediaType           Type = "UnsupportedMediaTypeException"
	InvalidRuntime                 Type = "InvalidRuntimeException"
	EC2Unexpected                  Type = "EC2UnexpectedException"
	KMSAccessDenied                Type = "KMSAccessDeniedException"
	RecursiveInvocation            Type = "RecursiveInvocationException"
	ServiceUnavailable             Type = "ServiceUnavailableException"
)

// shape is how one error type appears on the wire.
type shape struct {
	status int
	// upperMessage: the model names the message member "Message", not
	// "message".
	upperMessage bool
	// noUserType: the body has no "Type": "User" member.
	noUserType bool
}

// shapes is the single table from error type to status and body shape,
// following the Lambda API model.
var shapes = map[Type]shape{
	InvalidParameterValue:          {status: 400},
	InvalidRequestContent:          {status: 400},
	Validation:                     {status: 400, noUserType: true},
	ResourceNotFound:               {status: 404, upperMessage: true},
	ResourceConflict:               {status: 409},
	ResourceInUse:                  {status: 400, upperMessage: true},
	PreconditionFailed:             {status: 412},
	RequestEntityTooLarge:          {status: 413},
	TooManyRequests:                {status: 429},
	Service:                        {status: 500, upperMessage: true},
	AccessDenied:                   {status: 403, upperMessage: true, noUserType: true},
	UnrecognizedClient:             {status: 403, noUserType: true},
	InvalidSignature:               {status: 403, noUserType: true},
	IncompleteSignature:            {status: 403, noUserType: true},
	MissingAuthenticationToken:     {status: 403, noUserType: true},
	ExpiredToken:                   {status: 403, noUserType: true},
	UnknownOperation:               {status: 404, noUserType: true},
	ProvisionedConcurrencyNotFound: {status: 404},
	CodeStorageExceeded:            {status: 400},
	CodeVerificationFailed:         {status: 400, upperMessage: true},
	InvalidCodeSignature:           {status: 400, upperMessage: true},
	CodeSigningConfigNotFound:      {status: 404, upperMessage: true},
	InvalidZipFile:                 {status: 502, upperMessage: true},
	ResourceNotReady:               {status: 502},
	PolicyLengthExceeded:           {status: 400},
	UnsupportedMediaType:           {status: 415},
	InvalidRuntime:                 {status: 502, upperMessage: true},
	EC2Unexpected:                  {status: 502, upperMessage: true},
	KMSAccessDenied:                {status: 502, upperMessage: true},
	RecursiveInvocation:            {status: 400, upperMessage: true},
	ServiceUnavailable:             {status: 503, upperMessage: true},
}

// Status is the HTTP status for an error type (500 for unknown types).
func (t Type) Status() int {
	if s, ok := shapes[t]; ok {
		return s.status
	}
	if q, ok := queryShapes[t]; ok {
		return q.status
	}
	if q, ok := sqsShapes[t]; ok {
		return q.status
	}
	return http.StatusInternalServerError
}

// Error is an error a client sees.
type Error struct {
	Type    Type
	Message string
	// Reason is sent for TooManyRequestsException (and a few others).
	Reason string
	// RetryAfterSeconds, when positive, is sent as Retry-After.
	RetryAfterSeconds int
	// Extra members of the JSON body, rarely needed.
	Extra map[string]any
	// cause is the internal error, never shown to clients.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Type, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// New returns an error of type t with a formatted message.
func New(t Type, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Type: t, Message: format}
	}
	return &Error{Type: t, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of type t with message msg that keeps cause for
// logs and errors.Is, without revealing it to clients.
func Wrap(t Type, cause error, msg string) *Error {
	return &Error{Type: t, Message: msg, cause: cause}
}

// As returns the *Error in err's chain, or a ServiceException that hides
// err's text.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Type: Service, Message: "An internal error occurred.", cause: err}
}

// IsType reports whether err's chain holds an *Error of type t.
func IsType(err error, t Type) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == t
}

// Body is the JSON body for e under the REST-JSON protocol Lambda uses.
func (e *Error) Body() map[string]any {
	s, ok := shapes[e.Type]
	if !ok {
		s = shape{upperMessage: true}
	}
	body := map[string]any{}
	for k, v := range e.Extra {
		body[k] = v
	}
	if s.upperMessage {
		body["Message"] = e.Message
	} else {
		body["message"] = e.Message
	}
	if !s.noUserType {
		body["Type"] = "User"
		if e.Type.Status() >= 500 {
			body["Type"] = "Service"
		}
	}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	return body
}
