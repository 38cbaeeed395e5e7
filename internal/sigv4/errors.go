package sigv4

import (
	"errors"
	"fmt"
	"time"
)

// The kinds of failure, for errors.Is. Each error returned by this package
// is an *Error wrapping one of them; the comment names the AWS error type the
// API layer should send.
var (
	// ErrMissingAuth: neither an Authorization header (of an AWS4 scheme)
	// nor an X-Amz-Algorithm query parameter. MissingAuthenticationToken.
	ErrMissingAuth = errors.New("sigv4: missing authentication token")

	// ErrIncomplete: the Authorization header or the presign parameters are
	// malformed or incomplete, the algorithm is not AWS4-HMAC-SHA256, or the
	// query string is malformed. IncompleteSignature.
	ErrIncomplete = errors.New("sigv4: incomplete signature")

	// ErrSignatureMismatch: the request cannot be accepted as signed: the
	// signature differs, the scope date differs from the request date, the
	// scope terminator is wrong, 'host' is not signed, a signed header is
	// absent, or both header and query authentication were used.
	// InvalidSignature.
	ErrSignatureMismatch = errors.New("sigv4: signature does not match")

	// ErrExpired: the request time is more than 15 minutes from now, or a
	// presigned request is past its expiry. InvalidSignature.
	ErrExpired = errors.New("sigv4: signature expired")

	// ErrContentHash: X-Amz-Content-Sha256 is malformed or does not match
	// the body. InvalidSignature (S3 calls it XAmzContentSHA256Mismatch).
	ErrContentHash = errors.New("sigv4: content hash does not match body")
)

// Error is the error Parse and Verify return. Message is AWS's text for the
// failure, safe to send to the client: it never holds a secret or a session
// token.
type Error struct {
	Kind    error // one of the Err* sentinels
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns Kind, so errors.Is(err, ErrExpired) works.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Kind: kind, Message: format}
	}
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// AWS's messages, word for word where AWS has one.
const (
	msgMissingAuth = "Missing Authentication Token"
	msgBothAuth    = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgMismatch    = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned      = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgPresignExpired     = "Request has expired"
	msgContentHashInvalid = "The provided 'x-amz-content-sha256' header must be a valid SHA256."
	msgContentHashDiffers = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgExpiresNaN         = "X-Amz-Expires should be a number"
	msgExpiresNegative    = "X-Amz-Expires must be non-negative"
	msgExpiresTooLong     = "X-Amz-Expires must be less than a week (in seconds); that is, " +
		"the given X-Amz-Expires must be less than 604800 seconds"
)

func errBadDate(got string) *Error {
	return newError(ErrIncomplete,
		"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", got)
}

func errAlgorithm(alg string) *Error {
	return newError(ErrIncomplete, "Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", alg)
}

func errCredentialParts(cred string) *Error {
	return newError(ErrIncomplete,
		"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
}

func errTerminator(term string) *Error {
	return newError(ErrSignatureMismatch,
		"Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", term)
}

func errScopeDate(scopeDate, amzDate string) *Error {
	return newError(ErrSignatureMismatch,
		"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
		scopeDate, amzDate[:8], amzDate)
}

func errSkewPast(reqTime, now time.Time) *Error {
	return newError(ErrExpired, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
		reqTime.UTC().Format(amzDateLayout), now.Add(-ClockSkew).UTC().Format(amzDateLayout),
		now.UTC().Format(amzDateLayout))
}

func errSkewFuture(reqTime, now time.Time) *Error {
	return newError(ErrExpired, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
		reqTime.UTC().Format(amzDateLayout), now.Add(ClockSkew).UTC().Format(amzDateLayout),
		now.UTC().Format(amzDateLayout))
}

// errMismatch carries the canonical request and string to sign the server
// computed, as AWS does for non-S3 services; canon has the session token
// redacted already.
func errMismatch(canon, sts []byte) *Error {
	return &Error{Kind: ErrSignatureMismatch, Message: msgMismatch +
		"\n\nThe Canonical String for this request should have been\n'" + string(canon) +
		"'\n\nThe String-to-Sign should have been\n'" + string(sts) + "'\n"}
}
